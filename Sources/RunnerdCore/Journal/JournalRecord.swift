import RunnerProtocol

/// What the journal keeps of one exec besides its events: enough to answer `GET /execs/{id}`
/// and to tell, after a restart, whether it was still running (and which process it was).
public struct JournalRecord: Codable, Equatable, Sendable {
    public enum State: String, Codable, Sendable {
        case running, exited, failed
    }

    public var execId: String
    /// SHA-256 of the argv joined with NUL: identifies the command without storing it.
    public var argvDigest: String
    public var startedAtMs: Int64
    public var pid: Int32?
    /// The process's start time (`/proc/PID/stat`), so a reused pid is never mistaken for it.
    public var pidStartTime: UInt64?
    public var state: State
    public var endedAtMs: Int64?
    public var exit: ExecEvent.Exit?
    public var fail: ExecEvent.Fail?
    /// Order in the journal (for pruning the oldest).
    public var ordinal: UInt64

    public static func digest(_ argv: [String]) -> String {
        Digest.sha256Hex(Array(argv.joined(separator: "\u{0}").utf8))
    }
}
