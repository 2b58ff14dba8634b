import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Tells the `ConnectionGovernor` when a connection is busy: from a request's head to its
/// answer's end (an exec stream included), so that it is never the one evicted for a newcomer.
final class GovernedConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let governor: ConnectionGovernor

    init(governor: ConnectionGovernor) {
        self.governor = governor
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) { governor.requestStarted(context.channel) }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { governor.requestEnded(context.channel) }
        context.write(data, promise: promise)
    }
}
