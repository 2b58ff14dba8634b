/// One process of `GET /processes`.
public struct ProcessEntry: Codable, Equatable, Sendable {
    public var pid: Int32
    public var ppid: Int32
    public var pgid: Int32
    public var sid: Int32
    /// Real uid.
    public var uid: UInt32
    /// `/proc/PID/stat`'s state letter: `R`, `S`, `D`, `Z`, `T`, …
    public var state: String
    public var startedAtMs: Int64
    /// Empty for a zombie.
    public var command: [String]
    /// The live exec whose group (or session: a job-control shell's jobs) the process is in.
    public var execId: String?

    public init(
        pid: Int32, ppid: Int32, pgid: Int32, sid: Int32, uid: UInt32, state: String, startedAtMs: Int64, command: [String],
        execId: String? = nil
    ) {
        self.pid = pid
        self.ppid = ppid
        self.pgid = pgid
        self.sid = sid
        self.uid = uid
        self.state = state
        self.startedAtMs = startedAtMs
        self.command = command
        self.execId = execId
    }
}

/// `GET /processes`.
public struct ProcessList: Codable, Equatable, Sendable {
    public var processes: [ProcessEntry]
    public init(processes: [ProcessEntry]) { self.processes = processes }
}
