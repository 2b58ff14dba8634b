import NIOCore
import NIOHTTP1

/// An exec event stream on one HTTP connection: a chunked `application/x-ndjson` response.
///
/// Unsent bytes are the channel's outbound buffer. The consumer paces the exec while the
/// channel is over its high watermark *and* the peer is still taking bytes; a peer that took
/// nothing for `stallAfter` stops pacing, and is dropped at the unsent limit.
final class HTTPEventStream: EventConsumer {
    private let context: ChannelHandlerContext
    private let onEnd: (HTTPEventStream, _ dropped: Bool) -> Void
    private let stallAfter: TimeAmount
    private var delivered = 0
    private var mostSent = 0
    private var lastProgress = NIODeadline.now()
    private(set) var isOpen = true
    /// What this stream is subscribed to (an exec's log, a file watch), to detach from when
    /// the peer goes away.
    weak var source: (any EventSource)?

    init(context: ChannelHandlerContext, stallAfter: TimeAmount = .seconds(5), onEnd: @escaping (HTTPEventStream, Bool) -> Void) {
        self.context = context
        self.stallAfter = stallAfter
        self.onEnd = onEnd
    }

    func deliver(_ line: ByteBuffer) {
        guard isOpen else { return }
        delivered += line.readableBytes
        context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(line))), promise: nil)
    }

    func flush() {
        guard isOpen else { return }
        context.flush()
    }

    func finish() {
        guard isOpen else { return }
        isOpen = false
        onEnd(self, false)
    }

    func drop() {
        guard isOpen else { return }
        isOpen = false
        onEnd(self, true)
    }

    var unsentBytes: Int {
        (try? context.channel.syncOptions?.getOption(.bufferedWritableBytes)) ?? 0
    }

    func isPacing(now: NIODeadline) -> Bool {
        guard isOpen, !context.channel.isWritable else { return false }
        let sent = delivered - unsentBytes
        if sent > mostSent {
            mostSent = sent
            lastProgress = now
        }
        return now - lastProgress < stallAfter
    }

    /// The peer went away or the connection closed: stop receiving events.
    func detach() {
        isOpen = false
        source?.unsubscribe(self)
    }

    /// The channel drained below its low watermark: the exec may read again.
    func writable() {
        lastProgress = .now()
        source?.consumerWritable()
    }
}
