import Glibc
import RunnerProtocol
import SystemSupport

/// What every agent process is confined with, and how runnerd asks the exec shim to apply it.
///
/// The shim (`runnerd-exec-shim`, C) runs between posix_spawn and the agent's exec, started
/// with an empty environment (the agent's arrives in a memory file for the final execve): rlimits,
/// capability bounding/ambient sets cleared, supplementary groups cleared, agent gid/uid, every
/// capability cleared, no_new_privs, the seccomp filter (inherited from runnerd when it installed
/// it at boot, see `InheritedSeccomp`). When runnerd is not root it cannot
/// change uid or the bounding set; it applies the rest and says once which measures are off.
public struct HardeningPolicy: Sendable, Equatable {
    /// A soft:hard rlimit; nil means unlimited.
    public struct Limit: Sendable, Equatable {
        public var soft: UInt64?
        public var hard: UInt64?
        public init(_ value: UInt64?) {
            soft = value
            hard = value
        }
    }

    public var enabled: Bool
    public var isRoot: Bool
    public var agentUID: UInt32
    public var agentGID: UInt32
    public var nofile: Limit
    public var nproc: Limit
    public var fsize: Limit
    /// Path of `runnerd-exec-shim`.
    public var shimPath: String
    /// runnerd carries the seccomp filter itself (`InheritedSeccomp`): agents inherit it and
    /// the shim does not attach its own.
    public var seccompInherited = false
    /// The Landlock rules the shim enforces on every agent; nil when Landlock is off or the
    /// kernel lacks it (`landlockState` says which). See `AgentConfinement`.
    public var landlock: LandlockRules?
    /// What `/healthz` reports about Landlock.
    public var landlockState = LandlockConfinement(enforced: false, missing: "not set up")
    /// The agent's user name in the sandbox's `/etc/passwd`, when runnerd wrote it (`AgentAccount`).
    public var agentUserName: String?

    /// The fd number the shim reports failures on.
    public static let statusFD: CInt = 3
    /// The fd number the shim reads the agent's environment from (`MemoryFile`).
    public static let environmentFD: CInt = 4
    /// The shim's own environment: none. It starts as root, so nothing a client chose (LD_*,
    /// GLIBC_TUNABLES, ...) may be in it; the agent's environment reaches the final execve
    /// through `environmentFD`.
    public static let shimEnvironment: [String] = []

    public init(
        enabled: Bool, isRoot: Bool = Syscall.isRoot, agentUID: UInt32 = 10001, agentGID: UInt32 = 10001,
        nofile: Limit = Limit(4096), nproc: Limit = Limit(4096), fsize: Limit = Limit(nil), shimPath: String
    ) {
        self.enabled = enabled
        self.isRoot = isRoot
        self.agentUID = agentUID
        self.agentGID = agentGID
        self.nofile = nofile
        self.nproc = nproc
        self.fsize = fsize
        self.shimPath = shimPath
    }

    /// Whether the agent runs under its own uid (only root can switch).
    public var switchesUser: Bool { enabled && isRoot }

    /// The argv that starts `command` through the shim.
    public func wrap(_ command: [String]) -> [String] {
        guard enabled else { return command }
        var argv = [shimPath, "--status-fd", String(Self.statusFD), "--env-fd", String(Self.environmentFD)]
        argv += ["--rlimit", "core=0:0"]
        argv += ["--rlimit", "nofile=" + Self.format(nofile)]
        argv += ["--rlimit", "fsize=" + Self.format(fsize)]
        if switchesUser {
            // RLIMIT_NPROC counts every process of the real uid: only meaningful for the agent uid.
            argv += ["--rlimit", "nproc=" + Self.format(nproc)]
            argv += ["--drop-caps", "--gid", String(agentGID), "--uid", String(agentUID)]
        } else {
            argv += ["--drop-caps-if-permitted"]
        }
        argv += landlock?.shimArguments ?? []
        argv += seccompInherited ? ["--no-new-privs", "--"] : ["--no-new-privs", "--seccomp", "--"]
        return argv + command
    }

    /// Measures that cannot be applied here, for one log line at boot.
    public var unapplied: [String] {
        guard enabled else { return ["all (RUNNERD_HARDENING=off)"] }
        guard !isRoot else { return [] }
        return ["agent uid/gid (runnerd is not root)", "capability bounding set (needs CAP_SETPCAP)", "nproc rlimit (per uid)"]
    }

    private static func format(_ limit: Limit) -> String {
        "\(limit.soft.map(String.init) ?? "inf"):\(limit.hard.map(String.init) ?? "inf")"
    }
}
