import NIOCore

/// Something that receives an exec's event lines (an HTTP response stream).
///
/// Consumers are confined to the exec's event loop. `deliver` queues, `flush` sends; the log
/// reads `unsentBytes` to drop a consumer that fell too far behind and `isPacing` to decide
/// whether to stop reading the exec's pipes until the consumer catches up.
public protocol EventConsumer: AnyObject {
    func deliver(_ line: ByteBuffer)
    func flush()
    /// The log ended (its terminal event was delivered): end the stream, flushing everything
    /// delivered so far with its end.
    func finish()
    /// The consumer fell more than the unsent limit behind: disconnect it.
    func drop()
    /// Bytes queued but not yet written to the peer.
    var unsentBytes: Int { get }
    /// Backlogged but still making progress: the exec should wait for it.
    func isPacing(now: NIODeadline) -> Bool
}

/// What a consumer is subscribed to (an exec's log, a file watch): told when the consumer goes
/// away and when it can take bytes again.
public protocol EventSource: AnyObject {
    /// The consumer's peer went away: stop delivering to it.
    func unsubscribe(_ consumer: any EventConsumer)
    /// The consumer's connection drained below its low watermark: paused reading may resume.
    func consumerWritable()
}
