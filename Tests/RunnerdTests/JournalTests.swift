import Foundation
import RunnerProtocol
import RunnerdClient
import Testing
import TestSupport

@Suite("durable exec journal", .timeLimit(.minutes(10)))
struct JournalTests {
    @Test func sigkillMidExecThenRestartAnswersFromTheJournal() async throws {
        let workspace = RunnerdProcess.makeTempDir("journal-ws")
        let stateDir = RunnerdProcess.makeTempDir("journal-state")
        let environment = ["RUNNERD_STATE_DIR": stateDir]
        let first = try await RunnerdProcess.start(environment: environment, workspace: workspace)
        let client = first.client
        let done = try await client.run("done", ["sh", "-c", "echo finished; exit 4"])
        let big = try await client.run("big", ["sh", "-c", "head -c 600000 /dev/zero | tr '\\\\0' x"])
        let failed = try await client.run("failed", ["/no/such/binary"])
        // A running exec that has already produced output when runnerd dies.
        var runningEvents: [ExecEvent] = []
        for try await event in try await client.exec(ExecRequest(execId: "running", shell: "echo before; sleep 30", timeoutMs: 0)) {
            runningEvents.append(event)
            if case .stdout = event.body { break }
        }
        let runningPid = try #require(try await client.status("running").pid)
        first.crash()

        let second = try await RunnerdProcess.start(token: first.token, environment: environment, workspace: workspace)
        let restarted = second.client
        // Finished execs: status and byte-identical replay.
        let doneStatus = try await restarted.status("done")
        #expect(doneStatus.state == .exited)
        #expect(doneStatus.exitCode == 4)
        #expect(try await restarted.attachAll("done").events == done.events)
        let bigReplay = try await restarted.attachAll("big")
        let bigTail = Array(big.events.suffix(bigReplay.events.count - 1))
        #expect(Array(bigReplay.events.dropFirst()) == bigTail, "the retained ring survived the restart")
        if case .gap(let gap) = bigReplay.events.first?.body {
            #expect(gap.fromSeq == 1)
        } else {
            Issue.record("a replay of 600 KB of output from seq 0 starts with a gap")
        }
        #expect(try await restarted.status("failed").failCode == .spawnFailed)
        #expect(try await restarted.attachAll("failed").events == failed.events)
        // The exec that was running: an `exit` with lost: true after what was logged.
        let lost = try await restarted.attachAll("running")
        #expect(Array(lost.events.prefix(runningEvents.count)) == runningEvents)
        lost.checkSequence()
        let exit = try #require(lost.exit)
        #expect(exit.lost == true)
        #expect(exit.exitCode == -1)
        let lostStatus = try await restarted.status("running")
        #expect(lostStatus.state == .exited)
        #expect(lostStatus.lost == true)
        // Its process did not outlive runnerd's restart unsupervised.
        #expect(try await eventually { kill(runningPid, 0) != 0 }, "pid \(runningPid) still alive")
        // Ids on disk stay taken.
        #expect(try await restarted.run("done", ["true"]).fail?.code == .duplicateExec)
        await second.stop()
    }

    @Test func gracefulRestartKeepsRecordsAndTheJournalIsBounded() async throws {
        let workspace = RunnerdProcess.makeTempDir("journal-ws")
        let first = try await RunnerdProcess.start(workspace: workspace)
        for index in 0..<70 {
            _ = try await first.client.run("e\(index)", ["sh", "-c", "echo \(index)"])
        }
        #expect(await first.stop() == 0)
        // Default state dir: $RUNNERD_WORKSPACE/.runnerd, private to runnerd.
        let stateDir = workspace + "/.runnerd"
        let attributes = try FileManager.default.attributesOfItem(atPath: stateDir)
        #expect((attributes[.posixPermissions] as? Int) == 0o700)
        let slots = try FileManager.default.contentsOfDirectory(atPath: stateDir + "/execs")
        #expect(slots.allSatisfy { $0.hasPrefix("slot-") && $0.hasSuffix(".ndjson") }, "\(slots)")
        // 64 kept execs, plus the slot the last prune freed (the next exec reuses it).
        #expect(slots.count == 65, "the journal keeps the last 64 execs in reused slots, found \(slots.count) files")

        let second = try await RunnerdProcess.start(token: first.token, workspace: workspace)
        #expect(try await second.client.status("e5").state == .gone, "pruned")
        for index in [6, 40, 69] {
            let replay = try await second.client.attachAll("e\(index)")
            #expect(replay.stdoutText == "\(index)\n")
            #expect(replay.exit?.exitCode == 0)
            #expect(replay.exit?.lost == nil)
        }
        await second.stop()
    }
}
