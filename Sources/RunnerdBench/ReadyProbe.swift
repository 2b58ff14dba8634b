import NIOCore
import NIOHTTP1
import NIOPosix

/// `GET /readyz` on a fresh connection from an already-running client event loop: the boot
/// figure then holds runnerd's start and first answer, not the lazy start-up of an HTTP client.
enum ReadyProbe {
    /// The status of `GET /readyz` on 127.0.0.1:`port`.
    static func status(group: any EventLoopGroup, port: Int) async throws -> UInt {
        let loop = group.next()
        let answered = loop.makePromise(of: HTTPResponseStatus.self)
        let channel: any Channel
        do {
            channel = try await HTTPClientChannel.connect(on: loop, port: port) { StatusReader(answered: answered) }
        } catch {
            // Not listening yet: the promise must still be completed (NIO traps on a leaked one).
            answered.fail(error)
            throw error
        }
        defer { channel.close(promise: nil) }
        var headers = HTTPHeaders()
        headers.add(name: "host", value: "127.0.0.1")
        channel.write(HTTPClientRequestPart.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/readyz", headers: headers)), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        return try await answered.futureResult.get().code
    }

    private final class StatusReader: ChannelInboundHandler {
        typealias InboundIn = HTTPClientResponsePart
        let answered: EventLoopPromise<HTTPResponseStatus>

        init(answered: EventLoopPromise<HTTPResponseStatus>) { self.answered = answered }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if case .head(let head) = unwrapInboundIn(data) { answered.succeed(head.status) }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            answered.fail(error)
        }

        func channelInactive(context: ChannelHandlerContext) {
            answered.fail(BenchError("runnerd closed the connection before answering /readyz"))
        }
    }
}

/// A loopback HTTP/1.1 client channel: NIOHTTP1's codec, then the bench's own handler.
enum HTTPClientChannel {
    static func connect<Handler: ChannelInboundHandler>(
        on loop: any EventLoop, port: Int, handler makeHandler: @escaping @Sendable () -> Handler
    ) async throws -> any Channel where Handler.InboundIn == HTTPClientResponsePart {
        try await ClientBootstrap(group: loop)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHTTPClientHandlers()
                    try sync.addHandler(makeHandler())
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
    }
}
