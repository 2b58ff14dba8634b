/// Addition (issue 15): what confines this sandbox's agents, in runnerd's `/healthz` and the
/// spawner's `SessionInfo`. A measure that is missing says so (`enforced: false` and why, or
/// `network: none`), it is never silently absent. Every field is optional: older runnerds send none.
public struct Confinement: Codable, Equatable, Sendable {
    /// The sandbox's network confinement (docs/docker.md): `confined` when runnerd installed
    /// the policy the backend asked for in its network namespace and gave up the capability to
    /// change it; `none` when no policy was asked for (the local backend, a bare container).
    public var network: Network?
    /// Landlock: the filesystem agents may touch.
    public var landlock: LandlockConfinement?
    /// The identity agents run under.
    public var agent: AgentIdentity?

    public enum Network: String, Codable, Equatable, Sendable {
        case confined, none
    }

    public init(network: Network? = nil, landlock: LandlockConfinement? = nil, agent: AgentIdentity? = nil) {
        self.network = network
        self.landlock = landlock
        self.agent = agent
    }
}

/// Whether every agent process runs under Landlock (read-write only the workspace, `/tmp` and a
/// few devices; read and execute the system paths; nothing else).
public struct LandlockConfinement: Codable, Equatable, Sendable {
    public var enforced: Bool
    /// The kernel's Landlock ABI version, when it has one.
    public var abi: Int?
    /// Why it is not enforced (`RUNNERD_LANDLOCK=off`, `kernel without Landlock: …`,
    /// `exec hardening off`); nil when it is.
    public var missing: String?

    public init(enforced: Bool, abi: Int? = nil, missing: String? = nil) {
        self.enforced = enforced
        self.abi = abi
        self.missing = missing
    }
}

/// The uid and gid agent processes run under, and whether they are the sandbox's own (a uid no
/// other sandbox's agents share) rather than runnerd's own user.
public struct AgentIdentity: Codable, Equatable, Sendable {
    public var uid: UInt32
    public var gid: UInt32
    /// The user name `/etc/passwd` gives the uid inside the sandbox, when runnerd wrote it.
    public var user: String?
    /// false: agents run as runnerd's own user (runnerd is not root, or hardening is off).
    public var switched: Bool

    public init(uid: UInt32, gid: UInt32, user: String? = nil, switched: Bool) {
        self.uid = uid
        self.gid = gid
        self.user = user
        self.switched = switched
    }
}
