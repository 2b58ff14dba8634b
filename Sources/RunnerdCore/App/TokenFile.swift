import Glibc
import SystemSupport

/// The token file runnerd reads at boot, and what it checks before trusting it: the token must
/// not be within the agent's reach. A file readable by group or others, one inside the
/// workspace, or one the agent uid owns (it could chmod it) is refused, and runnerd does not start.
public struct TokenFile: Sendable, Equatable {
    public var contents: [UInt8]
    /// Permission bits (`st_mode & 0o7777`).
    public var mode: UInt32
    public var ownerUID: UInt32
    /// The path with every symlink resolved.
    public var realPath: String

    public init(contents: [UInt8], mode: UInt32, ownerUID: UInt32, realPath: String) {
        self.contents = contents
        self.mode = mode
        self.ownerUID = ownerUID
        self.realPath = realPath
    }

    /// Reads `path`: its bytes, and the mode, owner and real path of the very file read (fstat
    /// and /proc/self/fd of the open descriptor, so no swap between the check and the read).
    public static func read(_ path: String) throws(SystemError) -> TokenFile {
        let fd = try Syscall.open(path, O_RDONLY | O_NONBLOCK)
        defer { Syscall.close(fd) }
        let info = try Syscall.fstat(fd)
        guard info.st_mode & S_IFMT == S_IFREG else { throw SystemError("token file \(path)", errno: EINVAL) }
        let contents = try Syscall.readAll(fd, limit: 64 << 10, what: path)
        let realPath: String
        do {
            realPath = try Syscall.realpath("/proc/self/fd/\(fd)")
        } catch {
            realPath = try Syscall.realpath(path)  // no /proc
        }
        return TokenFile(contents: contents, mode: UInt32(info.st_mode & 0o7777), ownerUID: info.st_uid, realPath: realPath)
    }

    /// Why this file cannot hold runnerd's token, or nil when it may. `workspace` is the
    /// workspace with symlinks resolved (as far as it exists).
    func refusal(path: String, workspace: String, agentUID: UInt32) -> String? {
        if mode & 0o044 != 0 {
            return "RUNNERD_TOKEN_FILE \(path) is readable by group or others (mode \(String(mode, radix: 8))): "
                + "make it 0600 or 0400, owned by runnerd's user"
        }
        let root = workspace.hasSuffix("/") ? String(workspace.dropLast()) : workspace
        if realPath == root || realPath.hasPrefix(root + "/") {
            return "RUNNERD_TOKEN_FILE \(path) is inside the workspace \(workspace), where the agent can reach it"
        }
        if ownerUID == agentUID {
            return "RUNNERD_TOKEN_FILE \(path) is owned by the agent uid \(agentUID)"
        }
        return nil
    }
}
