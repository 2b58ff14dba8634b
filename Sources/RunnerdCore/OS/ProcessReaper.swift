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
    /// Statuses of reaped processes nobody owned (orphans), for observability.
    private let orphanCount = Atomic<Int>(0)

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
            let handler = handlers.withLock { $0.removeValue(forKey: pid) }
            if let handler {
                handler(status)
            } else {
                orphanCount.add(1, ordering: .relaxed)
            }
        }
    }

    /// Orphans (processes runnerd did not start itself) reaped so far.
    public var orphansReaped: Int { orphanCount.load(ordering: .relaxed) }

    /// Processes whose exit has not been seen yet.
    public var pending: Int { handlers.withLock { $0.count } }
}
