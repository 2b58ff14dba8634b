import Foundation
import RunnerProtocol
import RunnerdClient
import Synchronization
import Testing
import TestSupport

/// An exec whose events are collected in the background, for tests that talk to it while it
/// runs (a terminal, a process that traps signals).
final class LiveExec: Sendable {
    let id: String
    let client: RunnerdClient
    private let events = Locked<[ExecEvent]>([])
    private let task: Task<Void, any Error>

    init(_ client: RunnerdClient, _ request: ExecRequest) {
        self.id = request.execId
        self.client = client
        let events = self.events
        task = Task {
            for try await event in try await client.exec(request) {
                events.update { $0.append(event) }
            }
        }
    }

    /// The events received until now.
    var eventsSoFar: [ExecEvent] { events.read { $0 } }

    var stdoutText: String {
        String(decoding: events.read { ExecResult(events: $0).stdout }, as: UTF8.self)
    }

    /// Waits until the output contains `text`; says whether it did.
    func waitForOutput(_ text: String, timeout: Duration = .seconds(20)) async throws -> Bool {
        try await eventually(timeout: timeout) { stdoutText.contains(text) }
    }

    /// Writes raw bytes to the exec's stdin.
    @discardableResult
    func type(_ text: String) async throws -> StdinResponse {
        try await client.stdin(id, StdinRequest(b64: Base64.encode(Array(text.utf8))))
    }

    /// Every event, once the exec has ended.
    func result() async throws -> ExecResult {
        try await task.value
        return ExecResult(events: events.read { $0 })
    }
}

/// A value shared between a test and its background tasks.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func read<T>(_ body: (Value) -> T) -> T { mutex.withLock { body($0) } }
    func update(_ body: (inout Value) -> Void) { mutex.withLock { body(&$0) } }
    var value: Value { read { $0 } }
}
