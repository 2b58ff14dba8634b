import Glibc
import Logging
import SystemSupport

/// runnerd's state directory, opened once and trusted only if runnerd owns it.
///
/// By default it lives in the workspace, which the agent owns: the agent cannot enter it (0700,
/// runnerd's), but it can rename it and put its own in its place. So runnerd opens the
/// directory once, without following symlinks, checks that it is runnerd's and private, and
/// from then on works only relative to that fd. A directory found at the path that is not
/// runnerd's own is moved aside (it is the agent's, and untrusted) and a fresh one made.
public enum StateDirectory {
    /// Opens (creating if needed) `path` as a trusted directory; the caller owns the fd.
    public static func open(_ path: String, logger: Logger) throws(SystemError) -> CInt {
        let parent = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        if !parent.isEmpty { try Syscall.makeDirectories(parent) }
        for _ in 0..<3 {
            try Syscall.makeDirectory(path, mode: 0o700)
            let fd: CInt
            do {
                fd = try Syscall.open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
            } catch {
                guard error.errno == ELOOP || error.errno == ENOTDIR else { throw error }
                try moveAside(path, logger: logger, why: "it is not a directory")
                continue
            }
            let info = try Syscall.fstat(fd)
            if info.st_uid == Syscall.effectiveUID {
                Syscall.setMode(fd, 0o700)
                return fd
            }
            Syscall.close(fd)
            try moveAside(path, logger: logger, why: "it belongs to uid \(info.st_uid)")
        }
        throw SystemError("open state directory \(path)", errno: EEXIST)
    }

    /// Opens (creating if needed) the subdirectory `name` of a trusted directory, on the same
    /// terms: something else found under that name (a file, a symlink, another user's
    /// directory) is moved aside and a fresh directory made.
    public static func open(_ name: String, in parent: CInt, logger: Logger) throws(SystemError) -> CInt {
        for _ in 0..<3 {
            try Syscall.makeSubdirectory(name, in: parent, mode: 0o700)
            let fd: CInt
            do {
                fd = try Syscall.openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
            } catch {
                guard error.errno == ELOOP || error.errno == ENOTDIR else { throw error }
                try moveAside(name, in: parent, logger: logger, why: "it is not a directory")
                continue
            }
            let info = try Syscall.fstat(fd)
            if info.st_uid == Syscall.effectiveUID { return fd }
            Syscall.close(fd)
            try moveAside(name, in: parent, logger: logger, why: "it belongs to uid \(info.st_uid)")
        }
        throw SystemError("open state subdirectory \(name)", errno: EEXIST)
    }

    private static func moveAside(_ name: String, in parent: CInt, logger: Logger, why: String) throws(SystemError) {
        let aside = "\(name).untrusted-\(Syscall.nowMs())"
        logger.warning("state subdirectory replaced; moving it aside", metadata: ["name": "\(name)", "reason": "\(why)", "movedTo": "\(aside)"])
        try Syscall.renameEntry(name, in: parent, to: aside, in: parent)
    }

    private static func moveAside(_ path: String, logger: Logger, why: String) throws(SystemError) {
        let aside = "\(path).untrusted-\(Syscall.nowMs())"
        logger.warning("state directory replaced by another user; moving it aside", metadata: ["path": "\(path)", "reason": "\(why)", "movedTo": "\(aside)"])
        try Syscall.rename(path, aside)
    }
}
