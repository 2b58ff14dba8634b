import SystemSupport

/// As root, runnerd runs each command as the agent uid, and the agent reaches its workspace
/// by path: every directory from `/` down to the sessions directory must be searchable by
/// others (the agent is neither owner nor group). If one is not (a `mktemp -d` of 0700, a
/// data directory under `/root`), a command starts in its workspace but cannot change into
/// any directory of it (`sh -c 'mkdir d && cd d'`: shells change directory by absolute
/// path), so `git`, build tools and scripts break. The spawner refuses to start instead.
enum AgentReach {
    /// Why the agent cannot reach workspaces under `directory` (an existing absolute path,
    /// symbolic links resolved); nil when it can.
    static func problem(under directory: String, mode: (String) throws -> UInt32) rethrows -> String? {
        var paths = ["/"]
        for component in directory.split(separator: "/") { paths.append((paths.count == 1 ? "" : paths[paths.count - 1]) + "/" + component) }
        for path in paths {
            let bits = try mode(path)
            if bits & 0o001 == 0 {
                return "\(path) (mode \(String(bits & 0o7777, radix: 8))) is not searchable by others, so the agent uid runnerd runs "
                    + "commands as could not change directory inside its workspace (sh -c 'mkdir d && cd d' fails): "
                    + "make it searchable (chmod o+x \(path)) or choose a data directory under directories others may "
                    + "search (the default as root is /var/lib/spawner)"
            }
        }
        return nil
    }

    /// Throws when the spawner runs as root and the agent cannot reach `sessionsDirectory`.
    static func check(sessionsDirectory: String) throws {
        guard Syscall.isRoot else { return }
        let real = try Syscall.realpath(sessionsDirectory)
        if let problem = try problem(under: real, mode: { UInt32(try Syscall.status(ofPath: $0).st_mode) }) {
            throw Unreachable(description: problem)
        }
    }

    struct Unreachable: Error, CustomStringConvertible {
        let description: String
    }
}
