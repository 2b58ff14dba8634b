import Foundation
import RunnerProtocol
import SpawnerClient
import Testing

/// Sessions end to end against the real spawner binary and real runnerd children.
@Suite(.timeLimit(.minutes(10))) struct SessionLifecycleTests {
    @Test func createExecEnvListDelete() async throws {
        try await withSpawner { (spawner: SpawnerProcess) async throws in
            let client = spawner.client
            let created = try await client.create("life-1", owner: "alice", orgId: "org-a", env: ["GREETING": "hello"])
            #expect(created.sessionId == "life-1")
            #expect(created.state == .ready)
            #expect(created.backend == "local")
            #expect(created.owner == SessionOwner(kind: "user", id: "alice"))
            #expect(created.orgId == "org-a")
            #expect(created.profile == "default")
            #expect(created.expiresAtMs > created.createdAtMs)

            // One runnerd, in its own session (so it outlives the spawner), not in argv: the token.
            let pids = spawner.runnerdProcesses
            #expect(pids.count == 1)
            let argv = try #require(ProcessScan.commandLine(pids[0]))
            let token = HMACSigner(secret: Array(spawner.secret.utf8)).runnerdToken(sessionId: "life-1", nonce: try #require(created.nonce))
            #expect(!argv.joined(separator: " ").contains(token))
            #expect(!argv.joined(separator: " ").contains(spawner.secret))
            // Nor does it hold any of the spawner's descriptors (its listening socket above all).
            let shared = ProcessScan.descriptorTargets(pids[0]).intersection(ProcessScan.descriptorTargets(spawner.pid))
            #expect(shared.filter { $0.hasPrefix("socket:") || $0.hasPrefix("pipe:") }.isEmpty, "runnerd inherited \(shared)")

            // The env seeded at create reaches execs; the spawner secret does not.
            let events = try await client.runShell("life-1", "e1", "echo $GREETING; env")
            #expect(events.exit?.exitCode == 0)
            let output = events.stdoutText
            #expect(output.hasPrefix("hello\n"))
            #expect(!output.contains(spawner.secret))
            #expect(!output.contains("SPAWNER_"))
            #expect(!output.contains(token))

            // Env patch through the proxy.
            let patched = try await client.env("life-1", EnvPatch(set: ["COLOR": "blue", "PATH": "/nope"]))
            #expect(patched.denied == ["PATH"])
            #expect(try await client.runShell("life-1", "e2", "echo $COLOR").stdoutText == "blue\n")

            let fetched = try await client.session("life-1")
            #expect(fetched.sessionId == "life-1")
            #expect(fetched.lastActivityAtMs >= created.lastActivityAtMs)
            #expect(try await client.listSessions().map(\.sessionId) == ["life-1"])
            #expect(try await client.listSessions(orgId: "org-a").count == 1)
            #expect(try await client.listSessions(orgId: "org-b").isEmpty)

            // DELETE removes the process, the directory, the listing; twice is fine.
            try await client.deleteSession("life-1")
            #expect(spawner.runnerdProcesses.isEmpty)
            #expect(spawner.sessionDirectories.isEmpty)
            #expect(try await client.status(.GET, "/v1/sessions/life-1").0 == 404)
            #expect(try await client.status(.DELETE, "/v1/sessions/life-1").0 == 204)
            #expect(try await client.listSessions().isEmpty)
        }
    }

    @Test func generatedIdAndTakenId() async throws {
        try await withSpawner { (spawner: SpawnerProcess) async throws in
            let client = spawner.client
            let generated = try await client.create()
            #expect(Identifier.isValidSessionID(generated.sessionId))
            _ = try await client.create("taken")
            let request = CreateSessionRequest(sessionId: "taken", owner: SessionOwner(kind: "user", id: "bob"), orgId: "org-b")
            let (status, body) = try await client.status(.POST, "/v1/sessions", body: try WireJSON.encode(request))
            #expect(status == 409)
            #expect(body?.error == SpawnerErrorKind.conflict)
            #expect(try await client.listSessions().count == 2)
        }
    }

    @Test func invalidIdsAndBodiesAre400() async throws {
        try await withSpawner { (spawner: SpawnerProcess) async throws in
            let client = spawner.client
            #expect(try await client.status(.GET, "/v1/sessions/Not_Valid").0 == 400)
            #expect(try await client.status(.DELETE, "/v1/sessions/UPPER").0 == 400)
            let tooLong = String(repeating: "a", count: 64)
            #expect(try await client.status(.GET, "/v1/sessions/\(tooLong)").0 == 400)
            let badId = #"{"sessionId":"Bad Id","owner":{"kind":"user","id":"a"},"orgId":"o"}"#
            #expect(try await client.status(.POST, "/v1/sessions", body: Array(badId.utf8)).0 == 400)
            #expect(try await client.status(.POST, "/v1/sessions", body: Array("not json".utf8)).0 == 400)
            let missingOwner = #"{"orgId":"o"}"#
            let (status, body) = try await client.status(.POST, "/v1/sessions", body: Array(missingOwner.utf8))
            #expect(status == 400)
            #expect(body?.message?.contains("owner") == true)
            let deniedEnv = #"{"owner":{"kind":"user","id":"a"},"orgId":"o","env":{"PATH":"/x"}}"#
            #expect(try await client.status(.POST, "/v1/sessions", body: Array(deniedEnv.utf8)).0 == 400)
            #expect(try await client.status(.GET, "/v1/sessions/s1/execs/bad%20id").0 == 400)
            #expect(try await client.listSessions().isEmpty)
            #expect(spawner.runnerdProcesses.isEmpty)
        }
    }

    @Test func unknownSessionsAndRoutes() async throws {
        try await withSpawner { (spawner: SpawnerProcess) async throws in
            let client = spawner.client
            let (status, body) = try await client.status(.GET, "/v1/sessions/nope")
            #expect(status == 404)
            #expect(body?.error == SpawnerErrorKind.notFound)
            #expect(try await client.status(.POST, "/v1/sessions/nope/exec", body: Array(#"{"execId":"x","command":["true"],"timeoutMs":0,"stdoutMaxBytes":0,"stderrMaxBytes":0}"#.utf8)).0 == 404)
            #expect(try await client.status(.GET, "/v1/sessions/nope/fs/list?path=.").0 == 404)
            #expect(try await client.status(.GET, "/v1/nothing-here").0 == 404)
            #expect(try await client.status(.DELETE, "/v1/sessions/nope").0 == 204)
        }
    }

    @Test func healthAndMetricsAreOpen() async throws {
        try await withSpawner { (spawner: SpawnerProcess) async throws in
            _ = try await spawner.client.create("metered")
            _ = try await spawner.client.runShell("metered", "m1", "echo metered")
            let health = try await spawner.openGET("/healthz")
            #expect(health.status == 200)
            let decoded = try WireJSON.decode(SpawnerHealth.self, from: Array(health.body.utf8))
            #expect(decoded.ok && decoded.backend == "local" && decoded.sessions == 1)

            let (status, text) = try await spawner.openGET("/metrics")
            #expect(status == 200)
            #expect(text.contains(#"spawner_sessions{state="ready",backend="local"} 1"#))
            #expect(text.contains(#"spawner_session_creates_total{backend="local"} 1"#))
            #expect(text.contains(#"spawner_proxy_bytes_total{direction="to_client"}"#))
            #expect(text.contains("spawner_http_request_duration_seconds_bucket"))
            #expect(text.contains(#"route="/v1/sessions/{sid}/exec""#))

            try await spawner.client.deleteSession("metered")
            let after = try await spawner.openGET("/metrics").body
            #expect(after.contains(#"spawner_sessions{state="ready",backend="local"} 0"#))
            #expect(after.contains(#"spawner_session_destroys_total{backend="local",reason="requested"} 1"#))
        }
    }
}
