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
    /// The raw wait status once reaped.
    private let reaped = Mutex<CInt?>(nil)

    /// Starts `command` (`command[0]` an absolute path, or a name looked up in `PATH`).
    public init(_ command: [String], environment: [String: String], stdin: Stream = .null, stdout: Stream = .null, stderr: Stream = .null) throws {
        let input = try Self.open(stdin, output: false)
        defer { close(input) }
        let output = try Self.open(stdout, output: true)
        defer { close(output) }
        let errors = try Self.open(stderr, output: true)
        defer { close(errors) }
        var spec = SpawnSpec(
            argv: command, environment: environment.map { "\($0.key)=\($0.value)" }, cwdFD: nil, stdin: input, stdout: output, stderr: errors,
            newSession: false)
        spec.closeOtherDescriptors = true
        processIdentifier = try ProcessSpawner.spawn(spec)
    }

    private static func open(_ stream: Stream, output: Bool) throws -> CInt {
        let path: String
        var flags = O_CLOEXEC
        switch stream {
        case .null:
            path = "/dev/null"
            flags |= O_RDWR
        case .file(let file):
            path = file
            flags |= output ? (O_WRONLY | O_CREAT | O_APPEND) : O_RDONLY
        }
        let fd = Glibc.open(path, flags, 0o644)
        guard fd >= 0 else { throw SystemError("open(\(path))", errno: errno) }
        return fd
    }

    /// Reaps the child if it has exited (never blocks).
    private func poll() -> CInt? {
        reaped.withLock { status in
            if let status { return status }
            var raw: CInt = 0
            let result = waitpid(processIdentifier, &raw, WNOHANG)
            if result == processIdentifier { status = raw }
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
        guard let raw = poll() else { return 0 }
        return Self.exited(raw) ? (raw >> 8) & 0xff : raw & 0x7f
    }

    public var terminationReason: TerminationReason {
        guard let raw = poll() else { return .exit }
        return Self.exited(raw) ? .exit : .uncaughtSignal
    }

    private static func exited(_ raw: CInt) -> Bool { raw & 0x7f == 0 }

    /// SIGTERM.
    public func terminate() {
        if isRunning { kill(processIdentifier, SIGTERM) }
    }

    /// SIGKILL.
    public func kill9() {
        if isRunning { kill(processIdentifier, SIGKILL) }
    }
}
