import Glibc

/// One process named by its pid: whether it exists, signals to it, reaping it when it is our
/// child (never any other), and who this process is.
extension Syscall {
    /// Whether a process with this pid exists (a zombie still does; one we may not signal too).
    public static func processExists(_ pid: pid_t) -> Bool {
        guard pid > 0 else { return false }
        return kill(pid, 0) == 0 || errno == EPERM
    }

    /// What `waitpid(pid, WNOHANG)` found.
    public enum ChildState: Equatable, Sendable {
        case running
        case exited(WaitStatus)
        /// Not a child of this process (adopted after a restart, or already reaped).
        case notAChild
    }

    /// Reaps `pid` if it exited; never waits and never reaps any other child.
    public static func reapIfExited(_ pid: pid_t) -> ChildState {
        guard pid > 0 else { return .notAChild }
        var status: CInt = 0
        while true {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid { return .exited(WaitStatus(raw: status)) }
            if result == 0 { return .running }
            if errno == EINTR { continue }
            return .notAChild
        }
    }

    /// This process's pid.
    public static var currentPID: pid_t { getpid() }
}

