import Foundation
import RunnerProtocol
import SpawnerClient
import SpawnerCore
import Testing
import TestSupport

/// A create that fails at any step removes everything it made: the runnerd process, the
/// session directory (workspace, record, token, log), the registry entry and its place
/// under the caps.
@Suite(.timeLimit(.minutes(10))) struct CreateFailureTests {
    @Test(arguments: CreateStep.allCases)
    func injectedFailureAfterStepLeavesNothing(step: CreateStep) async throws {
        let spawner = try await InProcessSpawner { config in
            config.faults = CreateFaults(failAfter: step)
            config.caps = SessionCaps(total: 1)
        }
        do {
            let client = spawner.client
            let request = CreateSessionRequest(
                sessionId: "doomed", owner: SessionOwner(kind: "user", id: "alice"), orgId: "org-a", env: ["SEEDED": "1"])
            let (status, body) = try await client.status(.POST, "/v1/sessions", body: try WireJSON.encode(request))
            #expect(status == 500)
            #expect(body?.error == SpawnerErrorKind.createFailed)
            #expect(body?.message?.hasPrefix(step.rawValue) == true, "message: \(body?.message ?? "none")")

            #expect(try await client.listSessions().isEmpty)
            #expect(try await client.status(.GET, "/v1/sessions/doomed").0 == 404)
            #expect(spawner.sessionDirectories.isEmpty)
            #expect(await eventually { spawner.runnerdProcesses.isEmpty })
            // The cap of one was released: the next attempt is not a 429 (it fails the same way).
            let again = try await client.status(.POST, "/v1/sessions", body: try WireJSON.encode(request))
            #expect(again.0 == 500)
            let metrics = try await client.httpClient.execute(.init(url: "http://127.0.0.1:\(spawner.port)/metrics"), timeout: .seconds(10))
            let text = String(buffer: try await metrics.body.collect(upTo: 1 << 20))
            #expect(text.contains(#"spawner_session_create_failures_total{backend="local",step="\#(step.rawValue)"} 2"#))
            #expect(text.contains(#"spawner_sessions{state="creating",backend="local"} 0"#))
        } catch {
            await spawner.tearDown()
            throw error
        }
        #expect(await spawner.tearDown().isEmpty)
    }

    /// A `runnerd` that is a shell script.
    static func withFakeRunnerd(_ script: String, environment: [String: String] = [:], _ body: (SpawnerProcess) async throws -> Void) async throws {
        let scratch = TestPaths.makeTempDir("fake-runnerd")
        defer { TestPaths.remove(scratch) }
        let fake = scratch + "/runnerd"
        try ("#!/bin/sh\n" + script).write(toFile: fake, atomically: true, encoding: .utf8)
        chmod(fake, 0o755)
        try await withSpawner(environment: environment.merging(["SPAWNER_RUNNERD_PATH": fake]) { $1 }) { (spawner: SpawnerProcess) async throws in
            try await body(spawner)
        }
    }

    static func create(_ sessionId: String, on spawner: SpawnerProcess) async throws -> (Int, ErrorBody?) {
        let request = CreateSessionRequest(sessionId: sessionId, owner: SessionOwner(kind: "user", id: "a"), orgId: "o")
        return try await spawner.client.status(.POST, "/v1/sessions", body: try WireJSON.encode(request))
    }

    /// A runnerd that never listens: the shared deadline passes, `504`, and the process is gone.
    @Test func readyDeadlineRemovesAStuckRunnerd() async throws {
        try await Self.withFakeRunnerd("while true; do sleep 1; done\n", environment: ["SPAWNER_READY_TIMEOUT_MS": "1500"]) { spawner in
            let (status, body) = try await Self.create("stuck", on: spawner)
            #expect(status == 504)
            #expect(body?.error == SpawnerErrorKind.createFailed)
            #expect(await eventually { spawner.runnerdProcesses.isEmpty })
            #expect(spawner.sessionDirectories.isEmpty)
            #expect(try await spawner.client.listSessions().isEmpty)
        }
    }

    /// A runnerd that exits at once: the start step fails with its log, nothing stays.
    @Test func runnerdThatExitsAtOnce() async throws {
        try await Self.withFakeRunnerd("echo 'refusing to run' >&2\nexit 3\n") { spawner in
            let (status, body) = try await Self.create("quitter", on: spawner)
            #expect(status == 500)
            #expect(body?.message?.contains("refusing to run") == true, "message: \(body?.message ?? "none")")
            #expect(spawner.sessionDirectories.isEmpty)
            #expect(try await spawner.client.listSessions().isEmpty)
        }
    }
}
