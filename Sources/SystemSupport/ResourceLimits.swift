import Glibc

/// This process's resource limits.
extension Syscall {
    /// This process's soft `RLIMIT_NOFILE` (nil when unlimited, i.e. beyond `Int`, or unknown).
    public static func openFileLimit() -> Int? {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        return Int(exactly: limit.rlim_cur)
    }
}
