import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Reports one client connection to the `ConnectionGovernor`: admitted when it is set up,
/// busy from a request's head to its answer's end, gone when it closes.
final class GovernedConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let governor: ConnectionGovernor
    private var admitted = false

    init(governor: ConnectionGovernor) {
        self.governor = governor
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { admit(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        admit(context)
        context.fireChannelActive()
    }

    private func admit(_ context: ChannelHandlerContext) {
        guard !admitted else { return }
        admitted = governor.admit(context.channel)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if admitted { governor.closed(context.channel) }
        admitted = false
        context.fireChannelInactive()
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
