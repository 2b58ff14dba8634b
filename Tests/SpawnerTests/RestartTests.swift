import Foundation
import RunnerProtocol
import SpawnerClient
import Testing
import TestSupport

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

    /// A runnerd that cannot answer while the spawner boots (SIGSTOPped) is adopted, not
    /// destroyed: its process, its workspace and its session stay, and it serves once it runs.
    @Test func runnerdStoppedDuringBootIsAdoptedNotDestroyed() async throws {
        let first = try await SpawnerProcess.start()
        var current = first
        var stopped: Int32?
        defer { if let stopped { kill(stopped, SIGCONT) } }
        do {
            _ = try await first.client.create("sleepy")
            _ = try await first.client.create("awake")
            #expect(try await first.client.runShell("sleepy", "w", "echo precious > work.txt").exit?.exitCode == 0)
            #expect(await first.stop() == 0)
            let pid = try #require(ProcessScan.processes(mentioning: first.dataDir + "/sessions/sleepy/").first)
            kill(pid, SIGSTOP)
            stopped = pid
            #expect(await eventually { ProcessScan.state(pid) == "T" })

            current = try await first.restart()
            kill(pid, SIGCONT)
            stopped = nil
            #expect(current.log.contains("runnerd did not answer; adopted"))
            #expect(try await current.client.listSessions().map(\.sessionId).sorted() == ["awake", "sleepy"])
            #expect(current.sessionDirectories == ["awake", "sleepy"])
            #expect(ProcessScan.state(pid).map { $0 != "Z" } == true, "sleepy's runnerd was killed")
            #expect(try await current.client.runShell("sleepy", "r", "cat work.txt").stdoutText == "precious\n")
        } catch {
            Issue.record("spawner log:\n\(current.log.suffix(4000))")
            await current.tearDown()
            throw error
        }
        #expect(await current.tearDown().isEmpty)
    }

    /// After a restart a session's activity is runnerd's clock, which the spawner's probes
    /// (adoption, sweeps) do not move: an idle session does not get a new lease from a restart.
    @Test func adoptedSessionKeepsRunnerdsActivityClock() async throws {
        let first = try await SpawnerProcess.start(environment: ["SPAWNER_SWEEP_INTERVAL_MS": "100"])
        var current = first
        do {
            _ = try await first.client.create("quiet", idleTimeoutMs: 600_000)
            #expect(try await first.client.runShell("quiet", "last", "true").exit?.exitCode == 0)
            #expect(await first.stop() == 0)
            let stoppedAt = SignatureProbe.nowMs
            // Whatever the new spawner stamps is later than the stop.
            #expect(try await eventually { SignatureProbe.nowMs > stoppedAt })

            current = try await first.restart()
            try await current.sweepsComplete()
            let adopted = try await current.client.session("quiet")
            #expect(adopted.lastActivityAtMs <= stoppedAt, "activity \(adopted.lastActivityAtMs) is after the stop at \(stoppedAt)")
            #expect(adopted.lastActivityAtMs >= adopted.createdAtMs)
        } catch {
            Issue.record("spawner log:\n\(current.log.suffix(4000))")
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
