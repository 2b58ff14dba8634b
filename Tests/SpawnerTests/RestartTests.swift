import Foundation
import RunnerProtocol
import SpawnerClient
import Testing

/// Sessions outlive the spawner: kill -9 it, start another on the same data directory, and
/// the sessions are listed and usable again; leftovers of dead ones are removed.
@Suite(.timeLimit(.minutes(10))) struct RestartTests {
    @Test func killNineThenRestartAdoptsLiveSessionsAndDropsDeadOnes() async throws {
        let first = try await SpawnerProcess.start()
        var current = first
        do {
            let client = first.client
            _ = try await client.create("keeper", owner: "alice", orgId: "org-a", env: ["KEPT": "yes"])
            _ = try await client.create("casualty", owner: "bob", orgId: "org-b")
            #expect(try await client.runShell("keeper", "w", "echo persisted > note.txt").exit?.exitCode == 0)
            let before = try await client.session("keeper")
            // An exec that is still running when the spawner dies.
            let running = try await client.send(
                .POST, "/v1/sessions/keeper/exec",
                body: try WireJSON.encode(ExecRequest(execId: "across", shell: "sleep 1; echo after the restart", timeoutMs: 60_000)))
            #expect(running.status == .ok)

            first.kill9()
            // While no spawner runs, one sandbox dies.
            let casualtyPid = try #require(
                first.runnerdProcesses.first { ProcessScan.commandLine($0)?.joined(separator: " ").contains("/sessions/casualty/") == true })
            kill(casualtyPid, SIGKILL)
            #expect(await eventually { ProcessScan.state(casualtyPid) == nil || ProcessScan.state(casualtyPid) == "Z" })

            current = try await first.restart()
            let again = current.client
            let sessions = try await again.listSessions()
            #expect(sessions.map(\.sessionId) == ["keeper"])
            let keeper = try #require(sessions.first)
            #expect(keeper.state == .ready)
            #expect(keeper.owner == before.owner && keeper.orgId == before.orgId && keeper.createdAtMs == before.createdAtMs)
            #expect(keeper.expiresAtMs == before.expiresAtMs)
            #expect(current.sessionDirectories == ["keeper"])
            #expect(current.runnerdProcesses.count == 1)

            // Usable: the workspace, the env store, and the exec that ran across the restart.
            #expect(try await again.runShell("keeper", "r", "cat note.txt; echo $KEPT").stdoutText == "persisted\nyes\n")
            var across: [ExecEvent] = []
            for try await event in try await again.attach("keeper", "across") { across.append(event) }
            #expect(across.stdoutText == "after the restart\n")
            #expect(across.exit?.exitCode == 0)

            // The adopted session is destroyed like any other.
            try await again.deleteSession("keeper")
            #expect(current.runnerdProcesses.isEmpty)
            #expect(current.sessionDirectories.isEmpty)
        } catch {
            Issue.record("spawner log:\n\(current.log.suffix(4000))")
            await current.tearDown()
            throw error
        }
        #expect(await current.tearDown().isEmpty)
    }

    @Test func gracefulStopLeavesSessionsRunning() async throws {
        let first = try await SpawnerProcess.start()
        var current = first
        do {
            _ = try await first.client.create("survivor")
            #expect(await first.stop() == 0)
            #expect(first.runnerdProcesses.count == 1)
            current = try await first.restart()
            #expect(try await current.client.listSessions().map(\.sessionId) == ["survivor"])
            #expect(try await current.client.runShell("survivor", "x", "echo ok").stdoutText == "ok\n")
        } catch {
            await current.tearDown()
            throw error
        }
        #expect(await current.tearDown().isEmpty)
    }

    @Test func gracefulStopCutsAnIdleStreamAfterItsGraceAndTheExecResumes() async throws {
        let first = try await SpawnerProcess.start(environment: ["SPAWNER_SHUTDOWN_GRACE_MS": "500"])
        var current = first
        do {
            let client = first.client
            _ = try await client.create("streaming")
            // An exec that is silent for a while: its stream is idle when SIGTERM comes.
            let script = "echo before; sleep 3; echo after"
            var seen: [ExecEvent] = []
            let stream = try await client.exec("streaming", ExecRequest(execId: "quiet", shell: script, timeoutMs: 60_000))
            let reader = Task {
                var events: [ExecEvent] = []
                do { for try await event in stream { events.append(event) } } catch {}
                return events
            }
            #expect(try await eventually { try await client.execStatus("streaming", "quiet").state == .running })
            let stopped = ContinuousClock.now
            #expect(await first.stop() == 0)
            // The grace is half a second: the spawner did not wait for the command.
            #expect(ContinuousClock.now - stopped < .seconds(15))
            seen = await reader.value
            #expect(seen.last?.isTerminal != true)

            current = try await first.restart()
            var rest: [ExecEvent] = []
            for try await event in try await current.client.attach("streaming", "quiet", lastEventId: seen.last?.seq ?? 0) { rest.append(event) }
            #expect((seen + rest).stdoutText == "before\nafter\n")
            #expect(rest.exit?.exitCode == 0)
        } catch {
            await current.tearDown()
            throw error
        }
        #expect(await current.tearDown().isEmpty)
    }

    @Test func secondSpawnerOnTheSameDataDirIsRefused() async throws {
        try await withSpawner { (spawner: SpawnerProcess) async throws in
            await #expect(throws: SpawnerProcess.StartFailure.self) {
                _ = try await SpawnerProcess.start(dataDir: spawner.dataDir, secret: spawner.secret)
            }
        }
    }
}
