import RunnerProtocol
import SystemSupport

/// What the journal keeps of one exec besides its events: enough to answer `GET /execs/{id}`
/// and to tell, after a restart, whether it was still running (and which process it was).
///
/// On disk it is not a file of its own: the header line of the exec's journal file carries the
/// start (`JournalHeader`), the terminal event carries the outcome and the trailer line the end
/// (`JournalTrailer`), so an exec costs no record writes beyond its events (`JournalFile`).
public struct JournalRecord: Equatable, Sendable {
    public enum State: String, Codable, Sendable {
        case running, exited, failed
    }

    public var header: JournalHeader
    public var trailer: JournalTrailer?
    public var exit: ExecEvent.Exit?
    public var fail: ExecEvent.Fail?

    public var execId: String { header.execId }
    public var startedAtMs: Int64 { header.startedAtMs }
    public var pid: Int32? { header.pid }
    public var endedAtMs: Int64? { trailer?.endedAtMs }
    public var state: State { fail != nil ? .failed : exit != nil ? .exited : .running }

    public static func digest(_ argv: [String]) -> String {
        Digest.sha256Hex(Array(argv.joined(separator: "\u{0}").utf8))
    }
}

/// The first line of an exec's journal file, written with its first event.
public struct JournalHeader: Codable, Equatable, Sendable {
    /// Marks the line as the header (`"exec"`), never an event.
    public var j = "exec"
    public var execId: String
    /// SHA-256 of the argv joined with NUL: identifies the command without storing it.
    public var argvDigest: String
    public var startedAtMs: Int64
    /// Start order (ordinals are unique across restarts).
    public var ordinal: UInt64
    public var pid: Int32?
    /// The process's start time in `/proc/PID/stat` ticks lies in `pidStartTime...pidStartTimeMax`
    /// (the clock read before and after the spawn), so a reused pid is never mistaken for it.
    public var pidStartTime: UInt64?
    public var pidStartTimeMax: UInt64?

    public init(
        execId: String, argvDigest: String, startedAtMs: Int64, ordinal: UInt64, pid: Int32? = nil, pidStartTime: UInt64? = nil,
        pidStartTimeMax: UInt64? = nil
    ) {
        self.execId = execId
        self.argvDigest = argvDigest
        self.startedAtMs = startedAtMs
        self.ordinal = ordinal
        self.pid = pid
        self.pidStartTime = pidStartTime
        self.pidStartTimeMax = pidStartTimeMax
    }

    /// Whether `pid` is still the process this header names.
    public func isStillRunning(_ stat: ProcessTable.Stat?) -> Bool {
        guard let stat, let low = pidStartTime else { return false }
        return (low...max(low, pidStartTimeMax ?? low)).contains(stat.startTime)
    }
}

/// The last line of a finished exec's journal file, written with its terminal event.
public struct JournalTrailer: Codable, Equatable, Sendable {
    /// Marks the line as the trailer (`"end"`), never an event.
    public var j = "end"
    public var endedAtMs: Int64
    /// Finish order: the journal prunes the execs that finished first, at runtime and at boot.
    public var finishOrder: UInt64

    public init(endedAtMs: Int64, finishOrder: UInt64) {
        self.endedAtMs = endedAtMs
        self.finishOrder = finishOrder
    }
}
