import Glibc
import SystemSupport

/// The agent's passwd and group entries, for a uid chosen per session on a read-only root.
///
/// Tools look their user up (`id -un`, `whoami`, git, ssh, Python's `getpass`): a uid without
/// an entry breaks them. The image's `/etc/passwd` and `/etc/group` are symlinks into
/// `RUNNERD_IDENTITY_DIR` (a root-owned directory on a writable volume, readable by the agent),
/// which runnerd fills at boot, as root and before any agent, from the image's own files
/// (`RUNNERD_IDENTITY_BASE`: `passwd` and `group`) plus the agent's entry. No mount, no
/// capability beyond what runnerd has.
public struct AgentAccount: Sendable, Equatable {
    public var name = "agent"
    public var uid: UInt32
    public var gid: UInt32
    public var home: String
    public var shell: String

    public init(uid: UInt32, gid: UInt32, home: String, shell: String) {
        self.uid = uid
        self.gid = gid
        self.home = home
        self.shell = shell
    }

    /// `base` (a passwd file) without any entry of the agent's name or uid, plus the agent's.
    public func passwd(base: String) -> String {
        let kept = Self.lines(base).filter { line in
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            return !(fields.first.map(String.init) == name || (fields.count > 2 && UInt32(fields[2]) == uid))
        }
        return (kept + ["\(name):x:\(uid):\(gid):\(name):\(home):\(shell)"]).joined(separator: "\n") + "\n"
    }

    /// `base` (a group file) without any group of the agent's name or gid, plus the agent's.
    public func group(base: String) -> String {
        let kept = Self.lines(base).filter { line in
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            return !(fields.first.map(String.init) == name || (fields.count > 2 && UInt32(fields[2]) == gid))
        }
        return (kept + ["\(name):x:\(gid):"]).joined(separator: "\n") + "\n"
    }

    private static func lines(_ text: String) -> [String] {
        text.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
    }

    /// Writes `passwd` and `group` into `directory` (made root-owned, 0755; each file 0644,
    /// replaced atomically) from the files of `baseDirectory`.
    public func write(into directory: String, baseDirectory: String) throws(SystemError) {
        let passwdBase = try Syscall.readFile(baseDirectory + "/passwd", limit: 1 << 22)
        let groupBase = try Syscall.readFile(baseDirectory + "/group", limit: 1 << 22)
        try Syscall.makeDirectories(directory, mode: 0o755)
        // An emptyDir or a fresh volume may come 0777 or owned by anyone: the agent must not be
        // able to write its own entry.
        try Syscall.chown(directory, 0, 0)
        try Syscall.chmod(directory, 0o755)
        try Syscall.writeFileAtomically(directory + "/passwd", Array(passwd(base: String(decoding: passwdBase, as: UTF8.self)).utf8))
        try Syscall.writeFileAtomically(directory + "/group", Array(group(base: String(decoding: groupBase, as: UTF8.self)).utf8))
        try Syscall.chmod(directory + "/passwd", 0o644)
        try Syscall.chmod(directory + "/group", 0o644)
    }
}
