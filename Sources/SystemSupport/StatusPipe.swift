import Glibc

/// The close-on-exec pipe a helper process reports on between its spawn and its `exec`: the
/// pipe closes without a word when the `exec` succeeded, and carries a short report when a
/// stage before it failed.
public enum StatusPipe {
    public enum Outcome: Equatable, Sendable {
        /// The writer closed the pipe; what it wrote first (empty: the exec happened).
        case closed(report: [UInt8])
        /// Nothing more arrived, and the pipe stayed open, for the whole timeout.
        case timedOut
        case failed(SystemError)
    }

    /// Reads until the pipe closes (at most `limit` bytes), waiting at most `timeoutMs` for
    /// each read.
    public static func awaitClose(_ fd: CInt, limit: Int = 128, timeoutMs: Int32) -> Outcome {
        var buffer = [UInt8](repeating: 0, count: limit)
        var received = 0
        while received < buffer.count {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, timeoutMs)
            if ready == 0 { return .timedOut }
            if ready < 0 {
                if errno == EINTR { continue }
                return .failed(SystemError("poll"))
            }
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + received, $0.count - received) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            received += count
        }
        return .closed(report: Array(buffer[0..<received]))
    }
}
