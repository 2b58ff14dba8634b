/// One line of an exec's NDJSON event log: a sequence number and what happened.
///
/// `seq` runs 1, 2, 3, … with no holes over an exec's life; `exit` or `fail` is last. A `gap`
/// is not part of the log: it tells one consumer which seqs the replay ring no longer holds,
/// and carries `seq == toSeq` so that a client resuming "after the last seq seen" goes on
/// from the right place.
public struct ExecEvent: Equatable, Sendable {
    public var seq: UInt64
    public var body: Body

    public init(seq: UInt64, _ body: Body) {
        self.seq = seq
        self.body = body
    }

    public enum Body: Equatable, Sendable {
        case start(Start)
        case stdout([UInt8])
        case stderr([UInt8])
        case exit(Exit)
        case fail(Fail)
        case gap(Gap)
    }

    /// The discriminator `t`.
    public enum Kind: String, Codable, Sendable {
        case start, stdout, stderr, exit, fail, gap
    }

    public var kind: Kind {
        switch body {
        case .start: .start
        case .stdout: .stdout
        case .stderr: .stderr
        case .exit: .exit
        case .fail: .fail
        case .gap: .gap
        }
    }

    /// Whether this event ends the exec's log.
    public var isTerminal: Bool {
        switch body {
        case .exit, .fail: true
        default: false
        }
    }

    public struct Start: Codable, Equatable, Sendable {
        public var execId: String
        public var startedAtMs: Int64
        public var pid: Int32
        public init(execId: String, startedAtMs: Int64, pid: Int32) {
            self.execId = execId
            self.startedAtMs = startedAtMs
            self.pid = pid
        }
    }

    public struct Truncated: Codable, Equatable, Sendable {
        public var stdout: Bool
        public var stderr: Bool
        public init(stdout: Bool, stderr: Bool) {
            self.stdout = stdout
            self.stderr = stderr
        }
    }

    public struct Exit: Codable, Equatable, Sendable {
        /// The exit status, or 128+N for a death by signal N (-1 when `lost`).
        public var exitCode: Int32
        public var durationMs: Int64
        public var truncated: Truncated
        public var timedOut: Bool
        public var cancelled: Bool
        /// Signal name (`SIGKILL`, …) when the process was killed by one.
        public var signal: String?
        /// Addition: the exec was running when runnerd itself died; its real status is unknown.
        public var lost: Bool?

        public init(
            exitCode: Int32, durationMs: Int64, truncated: Truncated, timedOut: Bool, cancelled: Bool,
            signal: String? = nil, lost: Bool? = nil
        ) {
            self.exitCode = exitCode
            self.durationMs = durationMs
            self.truncated = truncated
            self.timedOut = timedOut
            self.cancelled = cancelled
            self.signal = signal
            self.lost = lost
        }
    }

    public struct Fail: Codable, Equatable, Sendable {
        public var code: ExecFailCode
        public var message: String
        public init(code: ExecFailCode, message: String) {
            self.code = code
            self.message = message
        }
    }

    public struct Gap: Codable, Equatable, Sendable {
        public var fromSeq: UInt64
        public var toSeq: UInt64
        public init(fromSeq: UInt64, toSeq: UInt64) {
            self.fromSeq = fromSeq
            self.toSeq = toSeq
        }
    }
}

extension ExecEvent: Codable {
    private enum CodingKeys: String, CodingKey {
        case t, seq, b64
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let seq = try container.decode(UInt64.self, forKey: .seq)
        let kind = try container.decode(Kind.self, forKey: .t)
        let body: Body
        switch kind {
        case .start: body = .start(try Start(from: decoder))
        case .stdout, .stderr:
            let text = try container.decode(String.self, forKey: .b64)
            guard let bytes = Base64.decode(text) else {
                throw DecodingError.dataCorruptedError(forKey: .b64, in: container, debugDescription: "invalid base64")
            }
            body = kind == .stdout ? .stdout(bytes) : .stderr(bytes)
        case .exit: body = .exit(try Exit(from: decoder))
        case .fail: body = .fail(try Fail(from: decoder))
        case .gap: body = .gap(try Gap(from: decoder))
        }
        self.init(seq: seq, body)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(seq, forKey: .seq)
        try container.encode(kind, forKey: .t)
        switch body {
        case .start(let v): try v.encode(to: encoder)
        case .stdout(let bytes), .stderr(let bytes): try container.encode(Base64.encode(bytes), forKey: .b64)
        case .exit(let v): try v.encode(to: encoder)
        case .fail(let v): try v.encode(to: encoder)
        case .gap(let v): try v.encode(to: encoder)
        }
    }
}
