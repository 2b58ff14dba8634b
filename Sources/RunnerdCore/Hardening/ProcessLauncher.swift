import Glibc
import NIOCore
import NIOPosix
import SystemSupport

/// Starts processes for runnerd: posix_spawn through the hardening shim (when on), registered
/// with the reaper, and done once the command was exec'd or failed.
///
/// The shim reports on a status pipe between the spawn and its `exec`; waiting for that report
/// blocks (up to `ShimStatus.timeoutMs`), so on the event loop it happens on `statusPool` and the
/// loop only receives the outcome (`launch(_:on:onExit:)`): a shim that hangs delays its own
/// exec, never the other streams of the sandbox.
public struct ProcessLauncher: Sendable {
    public let hardening: HardeningPolicy
    public let reaper: ProcessReaper
    /// Where the shim's report is awaited for launches on an event loop.
    public let statusPool: NIOThreadPool?

    public init(hardening: HardeningPolicy, reaper: ProcessReaper, statusPool: NIOThreadPool? = nil) {
        self.hardening = hardening
        self.reaper = reaper
        self.statusPool = statusPool
    }

    /// Why a process could not be started.
    public enum Failure: Error, Sendable, Equatable {
        case system(SystemError)
        /// The exec shim did not exec the command (`ShimStatus.Stage` says where it stopped).
        case shim(ShimStatus.Stage, errno: Int32)

        /// A message for a `fail` event or a skip reason.
        public func message(command: String) -> String {
            switch self {
            case .system(let error): "\(command): \(SystemError.text(errno: error.errno))"
            case .shim(.exec, let code): "\(command): \(SystemError.text(errno: code))"
            case .shim(let stage, let code): "hardening stage \(stage.name) failed: \(SystemError.text(errno: code))"
            }
        }
    }

    /// A process spawned whose shim has not reported yet.
    public struct Spawned: Sendable {
        public let pid: pid_t
        /// The read end of the shim's status pipe (nil without hardening: nothing to wait for).
        let status: CInt?

        /// Waits for the shim's report, blocking the calling thread; closes the status pipe. A
        /// shim that stays silent for the whole timeout has its group killed.
        func awaitExec() -> Failure? {
            guard let status else { return nil }
            defer { Syscall.close(status) }
            guard let failure = ShimStatus.read(status) else { return nil }
            if failure.stage == .silent { Syscall.signalGroup(pid, SIGKILL) }
            return .shim(failure.stage, errno: failure.errno)
        }
    }

    /// Spawns `spec` (whose argv is the command itself) and registers `onExit` for it; blocks
    /// until the command was exec'd (for callers on a thread of their own).
    public func launch(_ spec: SpawnSpec, onExit: @escaping ProcessReaper.ExitHandler) throws(Failure) -> pid_t {
        let spawned = try spawn(spec, onExit: onExit)
        if let failure = spawned.awaitExec() { throw failure }
        return spawned.pid
    }

    /// Spawns `spec` and registers `onExit` for it; the future, on `loop`, says whether the
    /// command was exec'd. Without hardening it is already complete; with it, the shim's report
    /// is awaited on `statusPool`.
    public func launch(_ spec: SpawnSpec, on loop: any EventLoop, onExit: @escaping ProcessReaper.ExitHandler) throws(Failure) -> (pid: pid_t, exec: EventLoopFuture<Void>) {
        let spawned = try spawn(spec, onExit: onExit)
        guard spawned.status != nil else { return (spawned.pid, loop.makeSucceededVoidFuture()) }
        guard let statusPool else {
            // No pool: the report is awaited here, like posix_spawn itself waits for its exec.
            let failure = spawned.awaitExec()
            return (spawned.pid, failure.map { loop.makeFailedFuture($0) } ?? loop.makeSucceededVoidFuture())
        }
        let exec = statusPool.runIfActive(eventLoop: loop) { spawned.awaitExec() }.flatMapThrowing { (failure: Failure?) throws -> Void in
            if let failure { throw failure }
        }
        return (spawned.pid, exec)
    }

    /// posix_spawn, through the shim when hardening is on (its status pipe left to read).
    func spawn(_ spec: SpawnSpec, onExit: @escaping ProcessReaper.ExitHandler) throws(Failure) -> Spawned {
        var spec = spec
        spec.argv = hardening.wrap(spec.argv)
        // Nothing of runnerd's may reach an agent: not its listening socket, not a client's
        // connection, whatever flags a library opened them with.
        spec.closeOtherDescriptors = true
        var status: (read: CInt, write: CInt)?
        var environment: CInt?
        if hardening.enabled {
            // The shim starts as root: it gets no environment of the client's, only a file
            // holding the agent's, which it hands to the final execve.
            do {
                environment = try MemoryFile.create("runnerd-exec-env", contents: MemoryFile.nulTerminated(spec.environment))
                status = try Syscall.pipe()
            } catch {
                if let environment { Syscall.close(environment) }
                throw .system(error)
            }
            spec.environment = HardeningPolicy.shimEnvironment
            spec.extraFDs.append((status!.write, HardeningPolicy.statusFD))
            spec.extraFDs.append((environment!, HardeningPolicy.environmentFD))
        }
        defer {
            if let environment { Syscall.close(environment) }
            // Only the shim holds the write end: the pipe closes when it execs or exits.
            if let status { Syscall.close(status.write) }
        }
        do {
            let pid = try reaper.spawn({ () throws(SystemError) -> pid_t in try ProcessSpawner.spawn(spec) }, onExit: onExit)
            return Spawned(pid: pid, status: status?.read)
        } catch {
            if let status { Syscall.close(status.read) }
            throw .system(error)
        }
    }
}
