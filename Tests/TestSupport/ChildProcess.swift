import Glibc
import Synchronization
import SystemSupport

/// A process the tests start (a runnerd, a spawner, the CLI): `posix_spawn` through
/// SystemSupport's `ProcessSpawner`, every other descriptor of the test process closed in the
/// child, stdio from files. Not Foundation's `Process`, whose `run()` crashed (in memcpy)
/// under the concurrent launches of a parallel test run, and which leaks the test process's
/// descriptors into daemons that outlive a test. The names follow `Process`'s.
public final class ChildProcess: Sendable {
    /// Where a standard stream goes.
    public enum Stream: Sendable {
        case null
        /// A file, created if missing; output is appended.
        case file(String)
    }

    public enum TerminationReason: Sendable {
        case exit
        case uncaughtSignal
    }

    public let processIdentifier: pid_t
    /// How it ended, once reaped.
    private let reaped = Mutex<WaitStatus?>(nil)

    /// Starts `command` (`command[0]` an absolute path, or a name looked up in `PATH`).
    public init(_ command: [String], environment: [String: String], stdin: Stream = .null, stdout: Stream = .null, stderr: Stream = .null) throws {
        let input = try Self.open(stdin, output: false)
        defer { Syscall.close(input) }
        let output = try Self.open(stdout, output: true)
        defer { Syscall.close(output) }
        let errors = try Self.open(stderr, output: true)
        defer { Syscall.close(errors) }
        var spec = SpawnSpec(
            argv: command, environment: environment.map { "\($0.key)=\($0.value)" }, cwdFD: nil, stdin: input, stdout: output, stderr: errors,
            newSession: false)
        spec.closeOtherDescriptors = true
        processIdentifier = try ProcessSpawner.spawn(spec)
    }

    private static func open(_ stream: Stream, output: Bool) throws -> CInt {
        switch stream {
        case .null: try Syscall.open("/dev/null", O_RDWR)
        case .file(let path): try Syscall.open(path, output ? (O_WRONLY | O_CREAT | O_APPEND) : O_RDONLY, 0o644)
        }
    }

    /// Reaps the child if it has exited (never blocks).
    private func poll() -> WaitStatus? {
        reaped.withLock { status in
            if let status { return status }
            var raw: CInt = 0
            if waitpid(processIdentifier, &raw, WNOHANG) == processIdentifier { status = WaitStatus(raw: raw) }
            return status
        }
    }

    public var isRunning: Bool { poll() == nil }

    /// Waits (polling, so that no thread blocks in `waitpid` while others ask) until it exited.
    public func waitUntilExit() {
        while poll() == nil { usleep(5_000) }
    }

    /// The exit code, or the number of the signal that ended it (as `Process` reports it).
    public var terminationStatus: CInt {
        guard let status = poll() else { return 0 }
        return status.terminatingSignal ?? status.exitCode
    }

    public var terminationReason: TerminationReason {
        poll()?.terminatingSignal == nil ? .exit : .uncaughtSignal
    }

    /// SIGTERM.
    public func terminate() {
        if isRunning { kill(processIdentifier, SIGTERM) }
    }

    /// SIGKILL.
    public func kill9() {
        if isRunning { kill(processIdentifier, SIGKILL) }
    }
}
