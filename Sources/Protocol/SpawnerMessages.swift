import NIOCore

// The spawner's wire types (section 2 of the contract). Every one is defined here once and
// shared by the spawner, its client library and the CLI.

/// Who a session belongs to: `{kind, id}` (e.g. `{"kind":"user","id":"alice"}`).
public struct SessionOwner: Codable, Hashable, Sendable, CustomStringConvertible {
    public var kind: String
    public var id: String

    public init(kind: String, id: String) {
        self.kind = kind
        self.id = id
    }

    public var description: String { "\(kind):\(id)" }
}

/// The life of a session: `creating` → `ready` → `stopping` → `gone`.
public enum SessionState: String, Codable, Sendable, CaseIterable {
    case creating, ready, stopping, gone
}

/// What the spawner says about a session.
public struct SessionInfo: Codable, Equatable, Sendable {
    public var sessionId: String
    public var owner: SessionOwner
    public var orgId: String
    public var profile: String
    /// The backend that runs it (`local`, `docker`, `kubernetes`).
    public var backend: String
    public var state: SessionState
    public var createdAtMs: Int64
    public var lastActivityAtMs: Int64
    /// `createdAtMs + ttlMs`: the sweep destroys the session at this time.
    public var expiresAtMs: Int64
    /// Addition: idle time after which the sweep destroys a session with no running exec
    /// (`0`: never).
    public var idleTimeoutMs: Int64?
    /// Addition: the session's nonce (contract §4, `spawner.nonce`); with the id and the
    /// spawner's secret it derives the session's runnerd token. Absent for a session made
    /// before nonces.
    public var nonce: String?
    /// Addition (issue 15): what confines the session's agents, as its runnerd's `/healthz`
    /// said when the session became ready or was adopted (nil when runnerd did not say).
    public var confinement: Confinement?

    public init(
        sessionId: String, owner: SessionOwner, orgId: String, profile: String, backend: String, state: SessionState,
        createdAtMs: Int64, lastActivityAtMs: Int64, expiresAtMs: Int64, idleTimeoutMs: Int64? = nil, nonce: String? = nil,
        confinement: Confinement? = nil
    ) {
        self.nonce = nonce
        self.sessionId = sessionId
        self.owner = owner
        self.orgId = orgId
        self.profile = profile
        self.backend = backend
        self.state = state
        self.createdAtMs = createdAtMs
        self.lastActivityAtMs = lastActivityAtMs
        self.expiresAtMs = expiresAtMs
        self.idleTimeoutMs = idleTimeoutMs
        self.confinement = confinement
    }
}

/// `POST /v1/sessions`.
public struct CreateSessionRequest: Codable, Equatable, Sendable {
    /// Chosen by the caller (`[a-z0-9-]{1,63}`) or, when absent, by the spawner.
    public var sessionId: String?
    public var owner: SessionOwner
    public var orgId: String
    public var profile: String?
    /// The sandbox image (container backends; the local backend ignores it).
    public var image: String?
    /// Seeds the session's env store (runnerd `POST /env`), never a command line.
    public var env: [String: String]?
    public var ttlMs: Int64?
    public var idleTimeoutMs: Int64?

    public init(
        sessionId: String? = nil, owner: SessionOwner, orgId: String, profile: String? = nil, image: String? = nil,
        env: [String: String]? = nil, ttlMs: Int64? = nil, idleTimeoutMs: Int64? = nil
    ) {
        self.sessionId = sessionId
        self.owner = owner
        self.orgId = orgId
        self.profile = profile
        self.image = image
        self.env = env
        self.ttlMs = ttlMs
        self.idleTimeoutMs = idleTimeoutMs
    }

    /// The checks the spawner applies before creating anything; the message says what is wrong.
    public func validationError() -> String? {
        if let sessionId, !Identifier.isValidSessionID(sessionId) { return "sessionId must match [a-z0-9-]{1,63}" }
        if owner.kind.isEmpty || owner.id.isEmpty { return "owner.kind and owner.id must not be empty" }
        if orgId.isEmpty { return "orgId must not be empty" }
        if let ttlMs, !Bounds.ttlMs.contains(ttlMs) { return OutOfRange(field: "ttlMs", range: Bounds.ttlMs).message }
        if let idleTimeoutMs, !Bounds.idleTimeoutMs.contains(idleTimeoutMs) {
            return OutOfRange(field: "idleTimeoutMs", range: Bounds.idleTimeoutMs).message
        }
        if let env {
            if env.count > Limits.envMaxEntries { return "env has more than \(Limits.envMaxEntries) entries" }
            for (name, value) in env.sorted(by: { $0.key < $1.key }) {
                if !EnvPolicy.isAllowed(name) { return "env name \(name) is not allowed" }
                if value.utf8.count > Limits.envMaxValueBytes || value.utf8.contains(0) { return "env value of \(name) is too long or contains NUL" }
            }
        }
        return nil
    }
}

/// `GET /v1/sessions`.
public struct SessionList: Codable, Equatable, Sendable {
    public var sessions: [SessionInfo]
    public init(sessions: [SessionInfo]) { self.sessions = sessions }
}

/// `GET /healthz` of the spawner.
public struct SpawnerHealth: Codable, Equatable, Sendable {
    public var ok: Bool
    public var version: String
    public var backend: String
    public var sessions: Int
    public init(ok: Bool, version: String, backend: String, sessions: Int) {
        self.ok = ok
        self.version = version
        self.backend = backend
        self.sessions = sessions
    }
}
