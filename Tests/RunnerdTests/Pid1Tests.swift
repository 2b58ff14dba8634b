import Foundation
import RunnerProtocol
import RunnerdClient
import Testing
import TestSupport

/// runnerd as PID 1 of a new PID namespace (`unshare --pid --fork --mount-proc`), as in a
/// container. Needs root: skipped without it on a developer's machine, run — and failing — in
/// CI (CI=true) if CI is not root.
@Suite(
    "runnerd as PID 1", .enabled(if: Hardening.canRun, "PID namespace tests need root (unshare --pid)"),
    .timeLimit(.minutes(10)))
struct Pid1Tests {
    static let wrapper = ["/usr/bin/unshare", "--pid", "--fork", "--mount-proc"]

    /// Processes of runnerd's namespace whose parent is runnerd, other than exec processes.
    static func orphans(of runnerd: RunnerdProcess) -> [Int32] {
        ProcStatus.children(of: runnerd.pid)
    }

    @Test func reapsOrphansReparentedToIt() async throws {
        try Hardening.requireRoot()
        let runnerd = try await RunnerdProcess.start(wrapper: Self.wrapper)
        #expect(runnerd.announcedPid == 1)
        // Each subshell exits at once; its background loop is re-parented to PID 1 (runnerd)
        // and lives until the test creates `release`, then exits and must be reaped by runnerd.
        let waitForRelease = "while [ ! -e release ]; do sleep 0.05; done"
        let result = try await runnerd.client.runShell("orphans", "(\(waitForRelease) &); (\(waitForRelease) &); echo spawned")
        #expect(result.stdoutText == "spawned\n")
        #expect(result.exit?.exitCode == 0)
        #expect(try await eventually { Self.orphans(of: runnerd).count == 2 }, "the two orphans are runnerd's children: \(Self.orphans(of: runnerd))")
        let orphans = Self.orphans(of: runnerd)
        #expect(runnerd.zombieChildren.isEmpty)
        #expect(FileManager.default.createFile(atPath: runnerd.workspace + "/release", contents: nil))
        // They exit; runnerd reaps them: no zombie, no process left.
        #expect(try await eventually { Self.orphans(of: runnerd).isEmpty }, "left: \(Self.orphans(of: runnerd)), zombies: \(runnerd.zombieChildren)")
        for pid in orphans { #expect(kill(pid, 0) != 0, "\(pid) is gone, not a zombie") }

        // An exec whose background child outlives it reports its own exit at once, and the
        // child, once it exits, is reaped too.
        try? FileManager.default.removeItem(atPath: runnerd.workspace + "/release")
        let background = try await runnerd.client.runShell("bg", "\(waitForRelease) > /dev/null 2>&1 & exit 3")
        #expect(background.exit?.exitCode == 3)
        #expect(try await eventually { Self.orphans(of: runnerd).count == 1 }, "the background child outlived its exec")
        #expect(FileManager.default.createFile(atPath: runnerd.workspace + "/release", contents: nil))
        #expect(try await eventually { Self.orphans(of: runnerd).isEmpty }, "zombies: \(runnerd.zombieChildren)")
        #expect(try await runnerd.client.health().liveExecs == 0)
        await runnerd.stop()
    }

    @Test func sigtermDrainsExecsAndExitsZero() async throws {
        try Hardening.requireRoot()
        // The grace is the window in which a new exec must be refused: wide, so that a loaded
        // machine's test client still asks within it.
        let runnerd = try await RunnerdProcess.start(environment: ["RUNNERD_KILL_GRACE_MS": "6000"], wrapper: Self.wrapper)
        let client = runnerd.client
        let polite = Task { try await client.run("polite", ["sleep", "60"]) }
        // The stubborn exec ignores SIGTERM; it says "ready" once its trap is installed.
        let ready = AsyncStream<Void>.makeStream()
        let stubborn = Task {
            var events: [ExecEvent] = []
            let request = ExecRequest(execId: "stubborn", shell: "trap '' TERM; echo ready; while :; do sleep 0.05; done", timeoutMs: 0)
            for try await event in try await client.exec(request) {
                events.append(event)
                if case .stdout = event.body { ready.continuation.yield() }
            }
            return ExecResult(events: events)
        }
        var readiness = ready.stream.makeAsyncIterator()
        _ = await readiness.next()
        #expect(try await eventually { try await client.health().liveExecs == 2 })
        kill(runnerd.pid, SIGTERM)
        // During the grace new execs are refused.
        #expect(try await eventually {
            let health = try await client.health()
            return health.draining == true
        })
        let refused = try await client.run("late", ["true"])
        #expect(refused.fail?.code == .shuttingDown)
        let politeResult = try await polite.value
        #expect(politeResult.exit?.cancelled == true)
        #expect(politeResult.exit?.signal == "SIGTERM")
        let stubbornResult = try await stubborn.value
        #expect(stubbornResult.exit?.signal == "SIGKILL", "SIGKILL after the grace")
        let status = await runnerd.stop()
        #expect(status == 0, "runnerd (PID 1) exits 0 after draining; log:\n\(runnerd.log)")
    }
}
