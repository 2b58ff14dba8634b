import Glibc
import Logging
import ServiceLifecycle
import SpawnerCore
import Synchronization
import SystemSupport

/// Reaps the runnerd processes this spawner started, and only those: `waitpid(pid, WNOHANG)`
/// per registered pid, never `wait(-1)`, so it cannot steal another component's child. A
/// runnerd adopted after a restart is not our child; the kernel's reaper has it.
final class ChildReaper: Service, Sendable {
    private let children = Mutex<[pid_t: String]>([:])
    private let interval: Duration
    private let logger: Logger

    init(interval: Duration = .milliseconds(500), logger: Logger) {
        self.interval = interval
        self.logger = logger
    }

    /// Tracks a child just started for `sessionId`.
    func register(_ pid: pid_t, sessionId: String) {
        children.withLock { $0[pid] = sessionId }
    }

    /// Whether `pid`, our child for `sessionId`, has not exited; reaps it if it has. nil when
    /// `pid` is not our child for that session. An unreaped child's pid cannot be reused, so
    /// `true` is proof of identity.
    func isRunning(_ pid: pid_t, sessionId: String) -> Bool? {
        guard children.withLock({ $0[pid] }) == sessionId else { return nil }
        switch Syscall.reapIfExited(pid) {
        case .running:
            return true
        case .exited(let status):
            children.withLock { _ = $0.removeValue(forKey: pid) }
            logger.info("runnerd exited", metadata: ["session": "\(sessionId)", "pid": "\(pid)", "exitCode": "\(status.exitCode)"])
            return false
        case .notAChild:
            children.withLock { _ = $0.removeValue(forKey: pid) }
            return false
        }
    }

    /// Reaps every registered child that exited.
    func reapExited() {
        for (pid, sessionId) in children.withLock({ Array($0) }) { _ = isRunning(pid, sessionId: sessionId) }
    }

    func run() async throws {
        while !Task.isShuttingDownGracefully {
            reapExited()
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
            } catch {
                return
            }
        }
    }
}
