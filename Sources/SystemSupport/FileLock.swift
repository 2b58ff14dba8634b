import Glibc

/// Advisory whole-file locks.
extension Syscall {
    /// `flock(fd, LOCK_EX | LOCK_NB)`: takes an exclusive lock or fails at once (`EWOULDBLOCK`
    /// when another open file description holds it). `path` names the file in the error.
    public static func lockExclusively(_ fd: CInt, path: String) throws(SystemError) {
        try retrying("flock(\(path))") { flock(fd, LOCK_EX | LOCK_NB) }
    }
}
