import CRunnerdShim
import Glibc

/// Controlling processes: signals, reaping children, the subreaper role.
extension Syscall {
    /// A non-blocking signalfd for SIGCHLD, which must be blocked in every thread.
    public static func childSignalFD() throws(SystemError) -> CInt {
        try retrying("signalfd") { cshim_signalfd_sigchld() }
    }

    /// `kill(-pgid, signal)`; `false` when the group no longer exists.
    @discardableResult
    public static func signalGroup(_ pgid: pid_t, _ signal: CInt) -> Bool {
        kill(-pgid, signal) == 0
    }

    /// `wait4(-1, WNOHANG)`: one exited child, or nil when none is waiting.
    public static func reapOne() -> (pid: pid_t, status: WaitStatus)? {
        var status: CInt = 0
        while true {
            let pid = wait4(-1, &status, WNOHANG, nil)
            if pid > 0 { return (pid, WaitStatus(raw: status)) }
            if pid == -1 && errno == EINTR { continue }
            return nil
        }
    }

    /// Makes this process the reaper of its orphaned descendants (what PID 1 is anyway), so
    /// that a background process outliving its exec stays in runnerd's tree.
    public static func becomeChildSubreaper() throws(SystemError) {
        try retrying("prctl(PR_SET_CHILD_SUBREAPER)") { cshim_set_child_subreaper() }
    }

    /// `kill(pid, signal)`; false when the process no longer exists. Never a group: a pid of
    /// 0 or below (which `kill` reads as a process group, or every process) is refused.
    @discardableResult
    public static func signalProcess(_ pid: pid_t, _ signal: CInt) -> Bool {
        guard pid > 0 else { return false }
        return kill(pid, signal) == 0
    }
}
