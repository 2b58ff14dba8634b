import Glibc

/// Who this process is.
extension Syscall {
    /// This process's id (1 when runnerd is a sandbox's init).
    public static var processID: pid_t { getpid() }

    /// Whether this process runs with effective uid 0.
    public static var isRoot: Bool { geteuid() == 0 }

    /// This process's effective uid.
    public static var effectiveUID: uid_t { geteuid() }
}
