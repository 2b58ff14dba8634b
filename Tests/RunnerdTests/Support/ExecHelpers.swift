import Foundation
import RunnerProtocol
import RunnerdClient
import Testing

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

/// Polls `condition` until it holds or `timeout` passes.
func eventually(timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}
