import CRunnerdShim
import Glibc

extension Syscall {
    /// Makes this process the reaper of its orphaned descendants (what PID 1 is anyway), so
    /// that a background process outliving its exec stays in runnerd's tree.
    public static func becomeChildSubreaper() throws(SystemError) {
        try retrying("prctl(PR_SET_CHILD_SUBREAPER)") { rd_set_child_subreaper() }
    }

    /// `kill(pid, signal)`; false when the process no longer exists.
    @discardableResult
    public static func signalProcess(_ pid: pid_t, _ signal: CInt) -> Bool {
        kill(pid, signal) == 0
    }
}
