import Glibc
import NIOCore
import RunnerProtocol
import SystemSupport

/// Starts an exec's process: creates its pipes (or its terminal), spawns the command through
/// the `ProcessLauncher` and hands back the descriptors runnerd keeps. Loop-confined, like the
/// exec it launches for.
struct ExecLauncher {
    let launcher: ProcessLauncher

    /// runnerd's ends of a launched exec's stdio.
    enum Descriptors {
        /// stdin's write end, stdout's and stderr's read ends.
        case pipes(stdin: CInt, stdout: CInt, stderr: CInt)
        /// The terminal master, and a second descriptor of it for writing.
        case terminal(master: CInt, writer: CInt)

        var all: [CInt] {
            switch self {
            case .pipes(let stdin, let stdout, let stderr): [stdin, stdout, stderr]
            case .terminal(let master, let writer): [master, writer]
            }
        }
    }

    /// A spawned exec: its pid, runnerd's descriptors, and whether the command was exec'd
    /// (a future on the loop: the hardening shim's report is awaited off it).
    struct Launched {
        let pid: pid_t
        let descriptors: Descriptors
        let exec: EventLoopFuture<Void>
    }

    /// Spawns `command` for `request`; on a thrown failure nothing is left open.
    func launch(
        _ request: ExecRequest, command: [String], environment: [String], cwdFD: CInt?, on loop: any EventLoop,
        onExit: @escaping ProcessReaper.ExitHandler
    ) throws(ProcessLauncher.Failure) -> Launched {
        if let size = request.pty {
            return try launchOnTerminal(size, command: command, environment: environment, cwdFD: cwdFD, on: loop, onExit: onExit)
        }
        var opened: [CInt] = []
        func pipe() throws(ProcessLauncher.Failure) -> (read: CInt, write: CInt) {
            do {
                let fds = try Syscall.pipe()
                opened += [fds.read, fds.write]
                return fds
            } catch {
                throw .system(error)
            }
        }
        do throws(ProcessLauncher.Failure) {
            let input = try pipe()
            let output = try pipe()
            let error = try pipe()
            Syscall.setPipeSize(output.read, 1 << 20)
            let spec = SpawnSpec(
                argv: command, environment: environment, cwdFD: cwdFD,
                stdin: input.read, stdout: output.write, stderr: error.write)
            let (pid, exec) = try launcher.launch(spec, on: loop, onExit: onExit)
            // The child holds its own ends now.
            for fd in [input.read, output.write, error.write] { Syscall.close(fd) }
            return Launched(pid: pid, descriptors: .pipes(stdin: input.write, stdout: output.read, stderr: error.read), exec: exec)
        } catch {
            for fd in opened { Syscall.close(fd) }
            throw error
        }
    }

    /// A PTY exec: a new terminal of `size`, its slave the process's stdio and controlling
    /// terminal; runnerd keeps the master (and a second descriptor of it for writing).
    private func launchOnTerminal(
        _ size: TerminalSize, command: [String], environment: [String], cwdFD: CInt?, on loop: any EventLoop,
        onExit: @escaping ProcessReaper.ExitHandler
    ) throws(ProcessLauncher.Failure) -> Launched {
        let hardening = launcher.hardening
        var opened: [CInt] = []
        func failing(_ failure: ProcessLauncher.Failure) -> ProcessLauncher.Failure {
            for fd in opened { Syscall.close(fd) }
            return failure
        }
        let terminal: PseudoTerminal
        let slave: CInt
        let writer: CInt
        do throws(SystemError) {
            terminal = try PseudoTerminal.open()
            opened.append(terminal.master)
            try PseudoTerminal.setWindowSize(terminal.master, cols: size.cols, rows: size.rows)
            slave = try terminal.openSlave(owner: hardening.switchesUser ? hardening.agentUID : nil)
            opened.append(slave)
            // NIO's own dup for a two-way descriptor traps on failure: dup it here instead.
            writer = try Syscall.duplicate(terminal.master)
            opened.append(writer)
        } catch {
            throw failing(.system(error))
        }
        var spec = SpawnSpec(argv: command, environment: environment, cwdFD: cwdFD, stdin: slave, stdout: slave, stderr: slave)
        spec.controllingTerminal = terminal.slavePath
        let launched: (pid: pid_t, exec: EventLoopFuture<Void>)
        do throws(ProcessLauncher.Failure) {
            launched = try launcher.launch(spec, on: loop, onExit: onExit)
        } catch {
            throw failing(error)
        }
        // runnerd keeps no slave descriptor: the master reads EIO once the agent's side closes.
        Syscall.close(slave)
        return Launched(pid: launched.pid, descriptors: .terminal(master: terminal.master, writer: writer), exec: launched.exec)
    }
}
