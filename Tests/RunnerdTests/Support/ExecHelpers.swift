import Foundation
import Glibc
import RunnerProtocol
import RunnerdClient
import Testing
import TestSupport

/// What a finished event stream said, split out for assertions.
struct ExecResult {
    var events: [ExecEvent]

    var stdout: [UInt8] {
        events.flatMap { event -> [UInt8] in if case .stdout(let bytes) = event.body { bytes } else { [] } }
    }

    var stderr: [UInt8] {
        events.flatMap { event -> [UInt8] in if case .stderr(let bytes) = event.body { bytes } else { [] } }
    }

    var stdoutText: String { String(decoding: stdout, as: UTF8.self) }

    var exit: ExecEvent.Exit? {
        if case .exit(let exit) = events.last?.body { exit } else { nil }
    }

    var fail: ExecEvent.Fail? {
        if case .fail(let fail) = events.last?.body { fail } else { nil }
    }

    var start: ExecEvent.Start? {
        if case .start(let start) = events.first?.body { start } else { nil }
    }

    /// The log invariants: seqs 1, 2, 3… without holes, one terminal event, last.
    func checkSequence(from first: UInt64 = 1, sourceLocation: SourceLocation = #_sourceLocation) {
        for (offset, event) in events.enumerated() {
            #expect(event.seq == first + UInt64(offset), "seq hole at index \(offset)", sourceLocation: sourceLocation)
        }
        #expect(events.last?.isTerminal == true, "last event is not exit/fail", sourceLocation: sourceLocation)
        #expect(events.dropLast().allSatisfy { !$0.isTerminal }, "terminal event before the end", sourceLocation: sourceLocation)
    }
}

extension RunnerdClient {
    /// Runs an exec to its end and returns every event.
    func run(_ request: ExecRequest) async throws -> ExecResult {
        var events: [ExecEvent] = []
        for try await event in try await exec(request) { events.append(event) }
        return ExecResult(events: events)
    }

    func run(_ execId: String, _ argv: [String], timeoutMs: Int64 = 60_000, configure: (inout ExecRequest) -> Void = { _ in }) async throws -> ExecResult {
        var request = ExecRequest(execId: execId, command: argv, timeoutMs: timeoutMs)
        configure(&request)
        return try await run(request)
    }

    func runShell(_ execId: String, _ script: String, timeoutMs: Int64 = 60_000, configure: (inout ExecRequest) -> Void = { _ in }) async throws -> ExecResult {
        var request = ExecRequest(execId: execId, shell: script, timeoutMs: timeoutMs)
        configure(&request)
        return try await run(request)
    }

    func attachAll(_ execId: String, sinceSeq: UInt64 = 0) async throws -> ExecResult {
        var events: [ExecEvent] = []
        for try await event in try await attach(execId, sinceSeq: sinceSeq) { events.append(event) }
        return ExecResult(events: events)
    }

    /// Polls `GET /execs/{id}` until it is no longer running.
    func waitUntilExited(_ execId: String, timeout: Duration = .seconds(30)) async throws -> ExecStatus {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let status = try await status(execId)
            if status.state != .running { return status }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw WaitTimeout(what: "exec \(execId) to exit")
    }
}

struct WaitTimeout: Error {
    let what: String
}

/// Wall-clock epoch milliseconds, the clock of runnerd's `lastActivityAtMs`.
func wallClockMs() -> Int64 {
    Int64(Date().timeIntervalSince1970 * 1000)
}

/// Waits until the wall clock has passed `ms`, so that whatever runnerd stamps from now on is
/// later than `ms`; returns the reading that passed it.
@discardableResult
func clockPassed(_ ms: Int64) async throws -> Int64 {
    #expect(try await eventually { wallClockMs() > ms })
    return wallClockMs()
}

/// A FIFO in a workspace that an exec's command waits on (`read line < NAME`) until the test
/// opens it: the test decides when the command goes on, with no sleep on either side.
struct Gate {
    let path: String

    init(in workspace: String, _ name: String) {
        path = workspace + "/" + name
        #expect(mkfifo(path, 0o666) == 0, "mkfifo \(path): errno \(errno)")
        // The agent's uid opens it.
        chmod(path, 0o666)
    }

    /// Lets the command through: opens the FIFO (once the command has opened it to read) and
    /// writes a line.
    func open() async throws {
        let path = self.path
        let opened = try await blocking { () -> Bool in
            let fd = Glibc.open(path, O_WRONLY)
            guard fd >= 0 else { return false }
            defer { close(fd) }
            return write(fd, "go\n", 3) == 3
        }
        #expect(opened, "the gate \(path) could not be opened")
    }
}
