import SystemSupport

/// The filesystem an agent may touch under Landlock: what runnerd hands the exec shim
/// (`--landlock CLASS:PATH`), which builds the ruleset while still root and enforces it once it
/// is the agent (docs/hardening.md, "Landlock").
///
/// Landlock allows by hierarchy and denies everything else: read, write and execute beneath
/// the workspace and `/tmp`; read and execute beneath the system paths; read and write on a few
/// device nodes. runnerd's state directory, its token file, other sessions' directories and a
/// user's home are under none of them, so an agent cannot open them whatever their modes (for
/// the state directory that holds only where it is not inside the workspace).
public struct LandlockRules: Sendable, Equatable {
    /// What a rule allows beneath its path (the shim's classes).
    public enum Access: String, Sendable {
        /// Read files and directories, execute.
        case readExecute = "ro"
        /// Everything but making device nodes.
        case readWrite = "rw"
        /// Read, write, truncate and ioctl on a device node (or the nodes of a directory).
        case device = "dev"

        /// Whether a rule with this access allows everything `other` does.
        func covers(_ other: Access) -> Bool {
            self == other || (self == .readWrite && other == .readExecute)
        }
    }

    public struct Rule: Sendable, Equatable {
        public var access: Access
        public var path: String
        public init(_ access: Access, _ path: String) {
            self.access = access
            self.path = path
        }
    }

    public var rules: [Rule]

    public init(rules: [Rule]) { self.rules = rules }

    /// Read and execute: where programs, their libraries and their configuration live.
    public static let systemPaths = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt", "/proc", "/sys"]
    /// Read and write: the device nodes programs open by name. `/dev/pts` and `/dev/ptmx` for
    /// terminals; the rest of `/dev` stays closed.
    public static let deviceNodes = ["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty", "/dev/ptmx", "/dev/pts"]
    /// Files of `/etc` that are often symlinks out of it (systemd-resolved's resolv.conf, the
    /// agent identity's passwd and group): their targets are readable too.
    public static let linkedConfiguration = ["/etc/resolv.conf", "/etc/hosts", "/etc/passwd", "/etc/group", "/etc/localtime", "/etc/mtab"]

    /// The rules for agents whose workspace is `workspace` (its real path). `temporary`: the
    /// scratch directories (`/tmp`, the environment's `TMPDIR`); `extraRead`, `extraWrite`: what
    /// the operator adds (`RUNNERD_LANDLOCK_READ`, `RUNNERD_LANDLOCK_WRITE`). Paths that do not
    /// exist are left out; `realPath` resolves symlinks (nil: no such path).
    public static func forAgents(
        workspace: String, temporary: [String], extraRead: [String] = [], extraWrite: [String] = [],
        realPath: (String) -> String?
    ) -> LandlockRules {
        var rules: [Rule] = []
        func add(_ access: Access, _ path: String) {
            // Rules are on real paths (`/lib` is often `/usr/lib`); one already covering it is enough.
            guard let real = realPath(path), !rules.contains(where: { Self.isBeneath(real, $0.path) && $0.access.covers(access) }) else {
                return
            }
            rules.append(Rule(access, real))
        }
        add(.readWrite, workspace)
        for path in temporary + extraWrite { add(.readWrite, path) }
        if realPath("/dev/shm") != nil { add(.readWrite, "/dev/shm") }
        for path in systemPaths + extraRead { add(.readExecute, path) }
        for path in deviceNodes { add(.device, path) }
        for path in linkedConfiguration {
            guard let target = realPath(path), !rules.contains(where: { Self.isBeneath(target, $0.path) }) else { continue }
            add(.readExecute, target)
        }
        return LandlockRules(rules: rules)
    }

    /// The shim's arguments.
    public var shimArguments: [String] {
        rules.flatMap { ["--landlock", "\($0.access.rawValue):\($0.path)"] }
    }

    /// Whether `path` is `root` or beneath it (both real paths).
    static func isBeneath(_ path: String, _ root: String) -> Bool {
        root == "/" || path == root || path.hasPrefix(root + "/")
    }

    /// The paths of a `:`-separated list (empty entries dropped).
    public static func pathList(_ raw: String?) -> [String] {
        (raw ?? "").split(separator: ":").map(String.init).filter { !$0.isEmpty }
    }
}
