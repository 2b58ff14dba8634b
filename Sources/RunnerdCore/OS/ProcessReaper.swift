import Glibc
import Synchronization
import SystemSupport

/// The one reaper: `wait4(-1)` collects every child (and, as PID 1, every orphan re-parented to
/// runnerd) and hands each status to whoever registered that pid.
///
/// Spawning happens under the reaper's lock, and registration before the lock is released, so a
/// child that exits before `posix_spawn` even returns is still delivered to its owner: the
/// reaper collects it but blocks on the lock until the owner is registered.
public final class ProcessReaper: Sendable {
    public typealias ExitHandler = @Sendable (WaitStatus) -> Void

    private let handlers = Mutex<[pid_t: ExitHandler]>([:])

    public init() {}

    /// Starts a process with `spawn` and registers `onExit` for its pid, atomically.
    public func spawn(_ spawn: () throws(SystemError) -> pid_t, onExit: @escaping ExitHandler) throws(SystemError) -> pid_t {
        try handlers.withLock { (table: inout [pid_t: ExitHandler]) throws(SystemError) -> pid_t in
            let pid = try spawn()
            table[pid] = onExit
            return pid
        }
    }

    /// Reaps every child that has exited; called on SIGCHLD.
    public func reapAvailable() {
        while let (pid, status) = Syscall.reapOne() {
            // An orphan re-parented to PID 1 has no handler: reaping it is all there is to do.
            handlers.withLock { $0.removeValue(forKey: pid) }?(status)
        }
    }
}
