import Glibc
import SystemSupport

/// An exclusive `flock` on `<dataDir>/spawner.lock`, held for the life of the process: two
/// spawners on one data directory would each adopt and sweep the other's sessions.
final class DataDirLock: Sendable {
    private let fd: CInt

    /// Takes the lock (making the directory if needed) or throws at once when another
    /// process holds it.
    init(dataDir: String) throws {
        try Syscall.makeDirectories(dataDir, mode: 0o711)
        let path = dataDir + "/spawner.lock"
        fd = try Syscall.open(path, O_RDWR | O_CREAT, 0o600)
        do {
            try Syscall.lockExclusively(fd, path: path)
        } catch {
            Syscall.close(fd)
            throw error
        }
    }

    deinit {
        Syscall.close(fd)
    }
}
