import RunnerProtocol
import ServiceLifecycle

/// The token-free facts a backend records with a session (labels and annotations for
/// container backends, a JSON record for the local one). They are the truth the registry is
/// rebuilt from after a restart.
public struct SessionLabels: Codable, Equatable, Sendable {
    public var sessionId: String
    public var owner: SessionOwner
    public var orgId: String
    public var profile: String
    public var image: String?
    public var createdAtMs: Int64
    public var ttlMs: Int64
    /// `0`: never idle.
    public var idleTimeoutMs: Int64
    /// Drawn at create (contract §4, `spawner.nonce`): with the id it derives the session's
    /// runnerd token. Nil for a session made before nonces, whose token is the §2 one.
    public var nonce: String?
    /// The uid (and gid, the same number) of the session's agents, chosen by the registry from
    /// `SPAWNER_AGENT_UIDS` (`AgentUIDRange`); nil: the image's or runnerd's default.
    public var agentUID: UInt32?

    /// `RUNNERD_AGENT_UID=uid:gid` for the session's runnerd; nil without a uid of its own.
    public var runnerdAgentUIDVariable: String? { agentUID.map { "RUNNERD_AGENT_UID=\($0):\($0)" } }

    /// The session's runnerd token.
    public func runnerdToken(_ signer: HMACSigner) -> String {
        signer.runnerdToken(sessionId: sessionId, nonce: nonce)
    }

    /// `createdAtMs + ttlMs`, saturated: labels read back from a backend are not trusted to be in range.
    public var expiresAtMs: Int64 { createdAtMs.addingSaturated(ttlMs) }

    /// What makes labels read back from a backend unusable (nil when they are fine): values a
    /// create could not have stored (`PROTOCOL.md` §3 bounds).
    public var rangeProblem: String? {
        if !Identifier.isValidSessionID(sessionId) { return "sessionId \(sessionId) is not a session id" }
        if createdAtMs < 0 { return "createdAtMs \(createdAtMs) is negative" }
        if !Bounds.ttlMs.contains(ttlMs) { return "ttlMs \(ttlMs) is out of range" }
        if !Bounds.idleTimeoutMs.contains(idleTimeoutMs) { return "idleTimeoutMs \(idleTimeoutMs) is out of range" }
        if let nonce, !HMACSigner.isWellFormedNonce(nonce) { return "nonce \(nonce) is not a nonce" }
        if let agentUID, agentUID == 0 || agentUID == UInt32.max { return "agentUID \(agentUID) is not an agent uid" }
        return nil
    }

    public init(
        sessionId: String, owner: SessionOwner, orgId: String, profile: String, image: String?, createdAtMs: Int64, ttlMs: Int64,
        idleTimeoutMs: Int64, nonce: String? = nil
    ) {
        self.nonce = nonce
        self.sessionId = sessionId
        self.owner = owner
        self.orgId = orgId
        self.profile = profile
        self.image = image
        self.createdAtMs = createdAtMs
        self.ttlMs = ttlMs
        self.idleTimeoutMs = idleTimeoutMs
    }
}

/// Where a session's runnerd answers.
public struct RunnerdEndpoint: Codable, Equatable, Sendable {
    public var host: String
    public var port: Int
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public var baseURL: String { host.contains(":") ? "http://[\(host)]:\(port)" : "http://\(host):\(port)" }
}

/// A session as its backend knows it.
public struct BackendSession: Equatable, Sendable {
    public var labels: SessionLabels
    public var endpoint: RunnerdEndpoint
    public init(labels: SessionLabels, endpoint: RunnerdEndpoint) {
        self.labels = labels
        self.endpoint = endpoint
    }
}

/// What a backend needs to start a session's sandbox.
public struct SandboxSpec: Sendable {
    public var labels: SessionLabels
    /// The session's runnerd token (`HMACSigner.runnerdToken`), handed to runnerd out of band
    /// (a 0600 file, a Secret), never on a command line.
    public var runnerdToken: String
    public init(labels: SessionLabels, runnerdToken: String) {
        self.labels = labels
        self.runnerdToken = runnerdToken
    }
}

/// Runs sandboxes: one runnerd per session. `local` (child processes) is built in; `docker`
/// and `kubernetes` implement the same four calls, so the API layer and the registry never
/// change with the backend.
public protocol SessionBackend: Sendable {
    /// `local`, `docker`, `kubernetes`: the `backend` of `SessionInfo`.
    var name: String { get }

    /// Long-running pieces of the backend (e.g. the local reaper), run in the app's group.
    var services: [any Service] { get }

    /// Allocates and starts the sandbox of `spec` and returns runnerd's address once it
    /// listens, before `deadline`. Throws `CreateFailure` naming the step that failed; what
    /// was made stays for `destroy` to remove (the registry always calls it on failure).
    func create(_ spec: SandboxSpec, deadline: ContinuousClock.Instant) async throws -> RunnerdEndpoint

    /// Stops the sandbox and removes everything made for the session. Idempotent: a session
    /// it knows nothing of, or half made, is fine.
    func destroy(sessionId: String) async throws

    /// Every session whose sandbox is alive. Leftovers of sessions whose sandbox is gone are
    /// removed as they are found.
    func listLive() async throws -> [BackendSession]

    /// runnerd's address while the session's sandbox is alive; nil once it is not.
    func endpoint(of sessionId: String) async -> RunnerdEndpoint?

    /// The profiles a create may name, checked before anything is made (`400` otherwise); nil
    /// when the backend takes any name or checks it itself.
    var profileNames: Set<String>? { get }

    /// Why this backend cannot hold a session of that (well-formed) id, checked before anything
    /// is made (`400`); nil when it can. (A Pod name is a DNS label: no `_`, no capitals.)
    func sessionIdProblem(_ sessionId: String) -> String?

    /// Why a create may not name `image`, checked before anything is made (`400`); nil when it
    /// may. (The local backend runs no image: it ignores the field.)
    func imageProblem(_ image: String) -> String?

    /// Whether its runnerds switch agents to the uid the registry gives each session
    /// (`SessionLabels.agentUID`): container backends, and the local backend as root.
    var assignsAgentUIDs: Bool { get }

    /// The agent uid a kept workspace of `sessionId` was made with, if there is one: the
    /// registry gives it back when no live session has it, so the files stay the agent's.
    func keptAgentUID(_ sessionId: String) async -> UInt32?
}

extension SessionBackend {
    public var profileNames: Set<String>? { nil }
    public func sessionIdProblem(_ sessionId: String) -> String? { nil }
    public func imageProblem(_ image: String) -> String? { nil }
    public var assignsAgentUIDs: Bool { false }
    public func keptAgentUID(_ sessionId: String) async -> UInt32? { nil }
}

/// A create whose id names a kept workspace (volume or claim) made by another owner or org
/// (contract §4): `409`, and nothing is made. A kept workspace with no record of its owner
/// (made before owners were recorded) belongs to nobody who can prove it, and is refused too.
public struct WorkspaceOwnedElsewhere: Error, CustomStringConvertible, Sendable {
    public var workspace: String
    public init(workspace: String) { self.workspace = workspace }
    public var description: String { "the kept workspace \(workspace) belongs to another owner or org" }

    /// Whether a kept workspace recorded for `recorded` may go to a session of `labels`.
    public static func check(_ recorded: (owner: SessionOwner, orgId: String)?, for labels: SessionLabels, workspace: String) throws(WorkspaceOwnedElsewhere) {
        guard let recorded, recorded.owner == labels.owner, recorded.orgId == labels.orgId else { throw WorkspaceOwnedElsewhere(workspace: workspace) }
    }
}

/// The steps of a create, in order: the first two run in the backend, the others in the registry.
public enum CreateStep: String, Sendable, CaseIterable, Codable {
    /// Directories, files, records (local); a container or Pod object (others).
    case allocate
    /// The sandbox's runnerd is started and listening.
    case start
    /// runnerd answers `/readyz`.
    case ready
    /// The session env is seeded through runnerd `POST /env`.
    case seedEnv
}

/// A create that failed at `step`.
public struct CreateFailure: Error, CustomStringConvertible, Sendable {
    public var step: CreateStep
    public var message: String
    /// The shared deadline passed.
    public var timedOut: Bool

    public init(_ step: CreateStep, _ message: String, timedOut: Bool = false) {
        self.step = step
        self.message = message
        self.timedOut = timedOut
    }

    public var description: String { "\(step.rawValue): \(message)" }

    /// Runs one step of a create: any error becomes a failure of `step` (one that already is
    /// a `CreateFailure` passes through).
    public static func during<T>(
        _ step: CreateStep, isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> T
    ) async throws(CreateFailure) -> T {
        do {
            return try await body()
        } catch let failure as CreateFailure {
            throw failure
        } catch {
            throw CreateFailure(step, "\(error)")
        }
    }
}

/// Test-only failure injection: a create fails right after the named step did its work, so
/// the cleanup of that step's leftovers is exercised. Set only in code (`SpawnerConfig.faults`).
public struct CreateFaults: Sendable, Equatable {
    public var failAfter: CreateStep?
    public init(failAfter: CreateStep? = nil) { self.failAfter = failAfter }

    /// Throws the injected failure when `step` is the chosen one.
    public func check(_ step: CreateStep) throws(CreateFailure) {
        if failAfter == step { throw CreateFailure(step, "injected failure after \(step.rawValue)") }
    }
}
