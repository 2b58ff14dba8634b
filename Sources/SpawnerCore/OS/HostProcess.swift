import Glibc
import SystemSupport

/// The few process calls of the spawner that `SystemSupport` does not wrap: existence checks,
/// signals to one pid, and reaping one known child without touching anyone else's.
enum HostProcess {
    /// Whether a process with this pid exists (a zombie still does).
    static func exists(_ pid: pid_t) -> Bool {
        guard pid > 0 else { return false }
        return kill(pid, 0) == 0 || errno == EPERM
    }

    /// Sends `signal` to one process; false when it no longer exists.
    @discardableResult
    static func signal(_ pid: pid_t, _ signal: CInt) -> Bool {
        guard pid > 0 else { return false }
        return kill(pid, signal) == 0
    }

    /// What `waitpid(pid, WNOHANG)` found.
    enum ReapResult: Equatable {
        case running
        case exited(WaitStatus)
        /// Not a child of this process (adopted after a restart, or already reaped).
        case notAChild
    }

    /// Reaps `pid` if it exited; never waits and never reaps any other child.
    static func reap(_ pid: pid_t) -> ReapResult {
        var status: CInt = 0
        while true {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid { return .exited(WaitStatus(raw: status)) }
            if result == 0 { return .running }
            if errno == EINTR { continue }
            return .notAChild
        }
    }

    static var isRoot: Bool { geteuid() == 0 }

    static var pid: pid_t { getpid() }
}
