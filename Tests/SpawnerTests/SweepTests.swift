import Foundation
import RunnerProtocol
import SpawnerClient
import Testing
import TestSupport

/// The sweep: TTL, idle with no running exec, and dead sandboxes. Short timeouts; every
/// wait is generous (the machine is shared), and no assertion depends on being fast.
@Suite(.timeLimit(.minutes(10))) struct SweepTests {
    static let environment = ["SPAWNER_SWEEP_INTERVAL_MS": "200"]

    @Test func sessionPastItsTTLIsDestroyed() async throws {
        try await withSpawner(environment: Self.environment) { (spawner: SpawnerProcess) async throws in
            let client = spawner.client
            let session = try await client.create("short-lived", ttlMs: 1_500, idleTimeoutMs: 0)
            #expect(session.expiresAtMs == session.createdAtMs + 1_500)
            #expect(try await eventually(timeout: .seconds(30)) { try await client.status(.GET, "/v1/sessions/short-lived").0 == 404 })
            #expect(await eventually { spawner.runnerdProcesses.isEmpty && spawner.sessionDirectories.isEmpty })
            #expect(try await spawner.openGET("/metrics").body.contains(#"spawner_session_destroys_total{backend="local",reason="ttl"} 1"#))
        }
    }

    @Test func idleSessionIsDestroyedButARunningExecKeepsOneAlive() async throws {
        try await withSpawner(environment: Self.environment) { (spawner: SpawnerProcess) async throws in
            let client = spawner.client
            _ = try await client.create("busy", idleTimeoutMs: 3_000)
            // Runs until the test releases it (a file), however slow the machine is.
            let hold = "while [ ! -e release ]; do sleep 0.1; done"
            async let busyExec = client.run("busy", ExecRequest(execId: "long", shell: hold, timeoutMs: 120_000))
            #expect(try await eventually { try await client.execStatus("busy", "long").state == .running })
            let running = ContinuousClock.now
            _ = try await client.create("idle", idleTimeoutMs: 1_500)

            #expect(try await eventually(timeout: .seconds(30)) { try await client.status(.GET, "/v1/sessions/idle").0 == 404 })
            // Past its idle timeout, and a whole sweep later, the busy session is still there:
            // its exec runs.
            #expect(await eventually { ContinuousClock.now >= running + .seconds(3) })
            try await spawner.sweepsComplete()
            #expect(try await client.session("busy").state == .ready)
            #expect(try await client.execStatus("busy", "long").state == .running)

            // Once the exec has ended, idleness counts again.
            #expect(try await client.runShell("busy", "release", "touch release").exit?.exitCode == 0)
            let events = try await busyExec
            #expect(events.exit?.exitCode == 0)
            #expect(try await eventually(timeout: .seconds(30)) { try await client.status(.GET, "/v1/sessions/busy").0 == 404 })
            #expect(await eventually { spawner.runnerdProcesses.isEmpty })
            #expect(try await spawner.openGET("/metrics").body.contains(#"spawner_session_destroys_total{backend="local",reason="idle"} 2"#))
        }
    }

    @Test func deadSandboxIsCleanedUp() async throws {
        try await withSpawner(environment: Self.environment) { (spawner: SpawnerProcess) async throws in
            let client = spawner.client
            _ = try await client.create("doomed", idleTimeoutMs: 0)
            let pid = try #require(spawner.runnerdProcesses.first)
            kill(pid, SIGKILL)
            #expect(try await eventually(timeout: .seconds(30)) { try await client.status(.GET, "/v1/sessions/doomed").0 == 404 })
            #expect(await eventually { spawner.sessionDirectories.isEmpty })
            #expect(try await spawner.openGET("/metrics").body.contains(#"spawner_session_destroys_total{backend="local",reason="dead"} 1"#))
        }
    }
}
