/// `GET /readyz`; with `?challenge=C` (§4) also the proof of holding the session's token
/// (`ReadinessChallenge`).
public struct ReadyResponse: Codable, Equatable, Sendable {
    public var ok: Bool
    public var proof: String?
    public init(ok: Bool = true, proof: String? = nil) {
        self.ok = ok
        self.proof = proof
    }
}

/// `GET /healthz`: liveness plus the activity clock the spawner's idle sweep reads.
public struct HealthResponse: Codable, Equatable, Sendable {
    public var ok: Bool
    public var bootedAtMs: Int64
    public var lastActivityAtMs: Int64
    public var liveExecs: Int
    public var version: String
    /// Addition: true once a SIGTERM/SIGINT started the graceful shutdown.
    public var draining: Bool?
    /// Addition (issue 15): the confinement in effect: network, Landlock, the agents' identity (`Confinement`).
    public var confinement: Confinement?

    public init(
        ok: Bool, bootedAtMs: Int64, lastActivityAtMs: Int64, liveExecs: Int, version: String, draining: Bool? = nil,
        confinement: Confinement? = nil
    ) {
        self.ok = ok
        self.bootedAtMs = bootedAtMs
        self.lastActivityAtMs = lastActivityAtMs
        self.liveExecs = liveExecs
        self.version = version
        self.draining = draining
        self.confinement = confinement
    }
}

/// `GET /execs/{id}`: `running`, `exited` or (404) `gone`.
public struct ExecStatus: Codable, Equatable, Sendable {
    public enum State: String, Codable, Sendable {
        case running, exited, gone
    }

    public var execId: String
    public var state: State
    public var startedAtMs: Int64?
    public var exitCode: Int32?
    /// Additions, for a finished exec.
    public var pid: Int32?
    public var endedAtMs: Int64?
    public var timedOut: Bool?
    public var cancelled: Bool?
    public var signal: String?
    public var lost: Bool?
    /// Addition: set when the exec ended in a `fail` event (e.g. `SPAWN_FAILED`).
    public var failCode: ExecFailCode?
    /// Addition: seq of the exec's last event so far.
    public var lastSeq: UInt64?

    public init(execId: String, state: State) {
        self.execId = execId
        self.state = state
    }
}

/// `POST /execs/{id}/cancel`.
public struct CancelResponse: Codable, Equatable, Sendable {
    public var killed: Bool
    public init(killed: Bool) { self.killed = killed }
}

/// `POST /execs/{id}/stdin`.
public struct StdinRequest: Codable, Equatable, Sendable {
    public var b64: String?
    public var eof: Bool?
    public init(b64: String? = nil, eof: Bool? = nil) {
        self.b64 = b64
        self.eof = eof
    }
}

/// Answer to a `/stdin` write.
public struct StdinResponse: Codable, Equatable, Sendable {
    public var ok: Bool
    public var reason: StdinRejectReason?
    public init(ok: Bool, reason: StdinRejectReason? = nil) {
        self.ok = ok
        self.reason = reason
    }
}

/// `POST /env`: set and unset entries of the session env store.
public struct EnvPatch: Codable, Equatable, Sendable {
    public var set: [String: String]?
    public var unset: [String]?
    public init(set: [String: String]? = nil, unset: [String]? = nil) {
        self.set = set
        self.unset = unset
    }
}

/// Answer to `POST /env`: the names that were refused by the denylist.
public struct EnvResponse: Codable, Equatable, Sendable {
    public var ok: Bool
    public var denied: [String]
    public init(ok: Bool = true, denied: [String]) {
        self.ok = ok
        self.denied = denied
    }
}

/// Addition: what runnerd writes to `--ready-file` once it listens (the bound address, useful
/// with port 0).
public struct ListenAnnouncement: Codable, Equatable, Sendable {
    public var host: String
    public var port: Int
    public var pid: Int32
    public init(host: String, port: Int, pid: Int32) {
        self.host = host
        self.port = port
        self.pid = pid
    }
}
