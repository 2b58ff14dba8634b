import RunnerProtocol
import SpawnerCore

/// A session's facts as Docker labels on its container and volumes, and back: the labels are
/// what a restarted spawner rebuilds its registry from. They never hold the token.
enum SandboxLabels {
    static let scope = "spawner.scope"
    static let session = "spawner.session"
    static let role = "spawner.role"
    static let network = "spawner.network"
    static let ownerKind = "spawner.owner-kind"
    static let ownerId = "spawner.owner-id"
    static let org = "spawner.org"
    static let profile = "spawner.profile"
    static let image = "spawner.image"
    static let createdAt = "spawner.created-at-ms"
    static let ttl = "spawner.ttl-ms"
    static let expiresAt = "spawner.expires-at-ms"
    static let idleTimeout = "spawner.idle-timeout-ms"
    /// The session's nonce (contract §4): with the id it derives the runnerd token.
    static let nonce = "spawner.nonce"
    /// The uid (and gid) of the session's agents (`SessionLabels.agentUID`), on the container
    /// and its workspace volume.
    static let agentUID = "spawner.agent-uid"

    /// What a labelled object is to its session.
    enum Role: String {
        case sandbox
        case workspace
        case runnerdState = "runnerd-state"
    }

    /// The labels of an object of `role` for the session.
    static func encode(_ labels: SessionLabels, scope: String, role: Role, network: String? = nil) -> [String: String] {
        var result: [String: String] = [
            Self.scope: scope, session: labels.sessionId, Self.role: role.rawValue,
        ]
        // A workspace records whose it is: a kept one goes back only to the same owner and org.
        if role != .runnerdState {
            result[ownerKind] = labels.owner.kind
            result[ownerId] = labels.owner.id
            result[org] = labels.orgId
            if let uid = labels.agentUID { result[agentUID] = String(uid) }
        }
        guard role == .sandbox else { return result }
        result[profile] = labels.profile
        if let image = labels.image { result[Self.image] = image }
        result[createdAt] = String(labels.createdAtMs)
        result[ttl] = String(labels.ttlMs)
        result[expiresAt] = String(labels.expiresAtMs)
        result[idleTimeout] = String(labels.idleTimeoutMs)
        if let nonce = labels.nonce { result[Self.nonce] = nonce }
        if let network { result[Self.network] = network }
        return result
    }

    /// The session of a sandbox container's labels; nil when they are not complete.
    static func decode(_ labels: [String: String]) -> SessionLabels? {
        guard let sessionId = labels[session], Identifier.isValidSessionID(sessionId), labels[role] == Role.sandbox.rawValue,
            let kind = labels[ownerKind], let id = labels[ownerId], let orgId = labels[org], let profile = labels[profile],
            let created = labels[createdAt].flatMap(Int64.init), let ttl = labels[ttl].flatMap(Int64.init),
            let idle = labels[idleTimeout].flatMap(Int64.init)
        else { return nil }
        var session = SessionLabels(
            sessionId: sessionId, owner: SessionOwner(kind: kind, id: id), orgId: orgId, profile: profile, image: labels[image],
            createdAtMs: created, ttlMs: ttl, idleTimeoutMs: idle, nonce: labels[nonce])
        session.agentUID = labels[agentUID].flatMap(UInt32.init)
        return session
    }

    /// The owner and org a workspace volume's labels record; nil when they do not.
    static func owner(ofWorkspace labels: [String: String]?) -> (owner: SessionOwner, orgId: String)? {
        guard let labels, let kind = labels[ownerKind], let id = labels[ownerId], let orgId = labels[org] else { return nil }
        return (SessionOwner(kind: kind, id: id), orgId)
    }

    /// Whether an object with these labels belongs to `sessionId` in `scope`.
    static func belongs(_ labels: [String: String]?, to sessionId: String, scope: String) -> Bool {
        labels?[Self.scope] == scope && labels?[session] == sessionId
    }
}

/// The Docker objects of one session, by name.
struct SandboxNames: Sendable {
    let container: String
    let workspaceVolume: String
    let runnerdVolume: String

    init(sessionId: String) {
        container = "sandbox-\(sessionId)"
        workspaceVolume = "sandbox-\(sessionId)-workspace"
        runnerdVolume = "sandbox-\(sessionId)-runnerd"
    }
}
