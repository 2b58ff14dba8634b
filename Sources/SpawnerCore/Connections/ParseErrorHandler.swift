import NIOCore
import NIOHTTP1

/// Answers a request that cannot be parsed (a head over the limits, an unknown method, a
/// broken chunk) with `400` and closes the connection once every answer owed is out. Placed
/// right after the request decoder, so that it also covers a connection's first request,
/// before the HTTP handlers of a connection that may upgrade to a WebSocket exist. (Without
/// it such a request got no answer, and a later one a `400` on a half-closed connection while
/// the client, still sending, blocked until the idle timeout.) It leaves the pipeline when the
/// connection becomes a WebSocket.
final class ParseErrorHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// Request heads read whose answers have not ended.
    private var owed = 0
    /// An answer has started and not ended.
    private var answering = false
    /// After a parse error: the answer ends still to go out before closing.
    private var endsBeforeClose: Int?
    /// A `101` went out: leave the pipeline at the next flush.
    private var upgraded = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) { owed += 1 }
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard error is HTTPParserError, endsBeforeClose == nil else { return context.fireErrorCaught(error) }
        if owed == 0 && !answering {
            // Nothing in flight: this handler answers, and the connection closes.
            endsBeforeClose = 0
            let head = HTTPResponseHead(version: .http1_1, status: .badRequest, headers: ["Connection": "close", "Content-Length": "0"])
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            context.close(promise: nil)
        } else {
            // The answers owed go out first, then Hummingbird's `400` for what failed.
            endsBeforeClose = owed + 1
        }
        context.fireErrorCaught(error)
    }

    func flush(context: ChannelHandlerContext) {
        context.flush()
        if upgraded { context.pipeline.syncOperations.removeHandler(context: context, promise: nil) }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head) where head.status == .switchingProtocols:
            // The connection becomes a WebSocket: no HTTP passes here any more. This handler
            // leaves once the `101` is flushed — not here: a `writeAndFlush` calls this
            // handler's `flush` right after `write`, and a removed handler's flush is lost (the
            // upgrade then waits for its `101` forever).
            upgraded = true
        case .head(let head) where head.status.code >= 200: answering = true
        case .head, .body: break
        case .end:
            answering = false
            owed = max(0, owed - 1)
            if let ends = endsBeforeClose {
                endsBeforeClose = ends - 1
                if ends <= 1 {
                    context.writeAndFlush(data, promise: promise)
                    context.close(promise: nil)
                    return
                }
            }
        }
        context.write(data, promise: promise)
    }
}
