import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL

/// A client connection set up by `inner` (HTTP/1.1, with the terminal's WebSocket upgrade),
/// with the spawner's connection policy around it from its first byte: `ConnectionGuardHandler`
/// first in the pipeline (right after TLS under HTTPS), `ParseErrorHandler` right after the
/// request decoder.
struct GuardedChildChannel<Inner: ServerChildChannel>: ServerChildChannel {
    typealias Value = Inner.Value

    let inner: Inner
    let governor: ConnectionGovernor
    let headTimeout: TimeAmount

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        do {
            // Under HTTPS (`TLSChannel` wraps this one and has added its handler), right after
            // TLS: the guard reads heads and answers in clear; a handshake that never ends is a
            // head that never comes.
            let guardHandler = ConnectionGuardHandler(governor: governor, headTimeout: headTimeout)
            if let tls = try? channel.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self) {
                try channel.pipeline.syncOperations.addHandler(guardHandler, position: .after(tls))
            } else {
                try channel.pipeline.syncOperations.addHandler(guardHandler, position: .first)
            }
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let decoder = try channel.pipeline.syncOperations.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try channel.pipeline.syncOperations.addHandler(ParseErrorHandler(), position: .after(decoder))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}
