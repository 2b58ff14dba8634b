import Glibc

extension Syscall {
    /// `fcntl(F_DUPFD_CLOEXEC)`: a second descriptor for the same open file.
    public static func duplicate(_ fd: CInt) throws(SystemError) -> CInt {
        try retrying("dup") { fcntl(fd, F_DUPFD_CLOEXEC, 0) }
    }
}
