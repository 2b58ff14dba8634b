import RunnerProtocol

/// Errors of `SpawnerClient`.
public enum SpawnerClientError: Error, Equatable, Sendable, CustomStringConvertible {
    /// An answer with an unexpected status and its `ErrorBody` (or raw text).
    case status(Int, ErrorBody)
    /// An event stream ended in the middle of a message, or without its `exit`/`fail`
    /// event after every reconnect was spent.
    case truncatedStream
    /// An SSE message that is not an exec event.
    case malformedEvent(String)
    /// A line or a message longer than the parser's cap: the stream was cut there.
    case lineTooLong(Int)

    public var description: String {
        switch self {
        case .status(let code, let body): "HTTP \(code): \(body.error)\(body.message.map { " (\($0))" } ?? "")"
        case .truncatedStream: "the event stream was cut"
        case .malformedEvent(let text): "not an exec event: \(text)"
        case .lineTooLong(let cap): "the event stream carried a line longer than \(cap) bytes"
        }
    }
}
