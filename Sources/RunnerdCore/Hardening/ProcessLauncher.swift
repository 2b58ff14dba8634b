import Glibc
import SystemSupport

/// Starts processes for runnerd: posix_spawn through the hardening shim (when on), registered
/// with the reaper, returning only once the command was exec'd or failed.
public struct ProcessLauncher: Sendable {
    public let hardening: HardeningPolicy
    public let reaper: ProcessReaper

    public init(hardening: HardeningPolicy, reaper: ProcessReaper) {
        self.hardening = hardening
        self.reaper = reaper
    }

    /// Why a process could not be started.
    public enum Failure: Error, Sendable {
        case system(SystemError)
        /// The exec shim reported a failed stage (`exec` when the command itself failed).
        case shim(stage: String, errno: Int32)

        /// A message for a `fail` event or a skip reason.
        public func message(command: String) -> String {
            switch self {
            case .system(let error): "\(command): \(String(cString: strerror(error.errno)))"
            case .shim(stage: "exec", let code): "\(command): \(String(cString: strerror(code)))"
            case .shim(let stage, let code): "hardening stage \(stage) failed: \(String(cString: strerror(code)))"
            }
        }
    }

    /// Spawns `spec` (whose argv is the command itself) and registers `onExit` for it.
    public func launch(_ spec: SpawnSpec, onExit: @escaping ProcessReaper.ExitHandler) throws(Failure) -> pid_t {
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
            if let status { Syscall.close(status.read) }
            if let environment { Syscall.close(environment) }
        }
        let pid: pid_t
        do {
            pid = try reaper.spawn({ () throws(SystemError) -> pid_t in try ProcessSpawner.spawn(spec) }, onExit: onExit)
        } catch {
            if let status { Syscall.close(status.write) }
            throw .system(error)
        }
        if let status {
            // Like glibc's posix_spawn itself, wait until the exec happened or failed: the shim
            // reports a failed stage on the close-on-exec status pipe, success closes it.
            Syscall.close(status.write)
            if let report = HardeningPolicy.readShimStatus(status.read) {
                if report.stage == "timeout" { Syscall.signalGroup(pid, SIGKILL) }
                throw .shim(stage: report.stage, errno: report.errno)
            }
        }
        return pid
    }
}
