import Glibc

/// This process's credentials.
extension Syscall {
    /// Drops every supplementary group of this process (all threads).
    public static func clearSupplementaryGroups() throws(SystemError) {
        try retrying("setgroups") { setgroups(0, nil) }
    }
}
