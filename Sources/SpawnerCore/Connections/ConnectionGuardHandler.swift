import NIOCore

/// The first handler of every client connection, below HTTP, so that it holds from the first
/// byte (the HTTP handlers of a connection that may upgrade to a WebSocket are only set up
/// once its first request head is in):
/// - admits the connection to the `ConnectionGovernor`, and reports it gone;
/// - closes it when its first request head is not complete within `headTimeout` (a client
///   that connects and sends nothing, or half a head); afterwards Hummingbird's idle timeout
///   applies;
/// - reports a connection upgraded to a WebSocket (its first answer is `101`) as busy for good:
///   a terminal is never evicted for a newcomer.
final class ConnectionGuardHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private let governor: ConnectionGovernor
    private let headTimeout: TimeAmount
    private var admitted = false
    private var headSeen = false
    /// The last bytes read while looking for the end of the first head (it may be cut).
    private var tail: [UInt8] = []
    private var firstAnswerSeen = false
    private var headTimer: Scheduled<Void>?

    static let headEnd: [UInt8] = Array("\r\n\r\n".utf8)
    static let switchingProtocols: [UInt8] = Array("HTTP/1.1 101".utf8)

    init(governor: ConnectionGovernor, headTimeout: TimeAmount) {
        self.governor = governor
        self.headTimeout = headTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    private func start(_ context: ChannelHandlerContext) {
        guard !admitted else { return }
        admitted = governor.admit(context.channel)
        guard admitted else { return }
        headTimer = context.eventLoop.assumeIsolated().scheduleTask(in: headTimeout) { [weak self] in
            guard let self, !self.headSeen else { return }
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        headTimer?.cancel()
        if admitted { governor.closed(context.channel) }
        admitted = false
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if !headSeen { look(for: unwrapInboundIn(data)) }
        context.fireChannelRead(data)
    }

    /// Whether `buffer`, after what came before, completes the first head.
    private func look(for buffer: ByteBuffer) {
        buffer.withUnsafeReadableBytes { bytes in
            let joined = tail + bytes.prefix(Self.headEnd.count - 1)
            if joined.firstRange(of: Self.headEnd) != nil || bytes.firstRange(of: Self.headEnd) != nil {
                headSeen = true
                headTimer?.cancel()
            } else {
                tail = Array((tail + bytes.suffix(Self.headEnd.count - 1)).suffix(Self.headEnd.count - 1))
            }
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if !firstAnswerSeen, case .byteBuffer(let buffer) = unwrapOutboundIn(data) {
            firstAnswerSeen = true
            if buffer.readableBytesView.starts(with: Self.switchingProtocols) { governor.upgraded(context.channel) }
        }
        context.write(data, promise: promise)
    }
}
