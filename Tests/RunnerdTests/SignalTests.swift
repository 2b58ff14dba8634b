import Foundation
import RunnerProtocol
import RunnerdClient
import Testing
import TestSupport

@Suite("signals to execs", .timeLimit(.minutes(3)))
struct SignalTests {
    static let trapping = """
        for sig in INT HUP USR1 USR2 QUIT; do trap "echo got-$sig" $sig; done
        echo ready
        while :; do sleep 0.05; done
        """

    @Test func theExecsGroupGetsTheSignalNamedWithOrWithoutSIG() async throws {
        let runnerd = try await RunnerdProcess.start()
        let client = runnerd.client
        let exec = LiveExec(client, ExecRequest(execId: "trap", shell: Self.trapping, timeoutMs: 60_000))
        #expect(try await exec.waitForOutput("ready"))
        for (name, expected) in [("INT", "got-INT"), ("SIGHUP", "got-HUP"), ("usr1", "got-USR1"), ("sigUSR2", "got-USR2")] {
            let response: SignalResponse = try await client.json(.POST, "/execs/trap/signal", body: SignalRequest(signal: name))
            #expect(response.signaled, "\(name)")
            #expect(try await exec.waitForOutput(expected), "\(name): \(exec.stdoutText)")
        }
        // Not in the contract's list, a number, garbage: 400 and nothing sent.
        for name in ["SEGV", "9", "", "SIGINTX", "KILL9"] {
            let body = try WireJSON.encode(SignalRequest(signal: name))
            #expect(try await client.call(.POST, "/execs/trap/signal", body: body).status == 400, "\(name)")
        }
        #expect(try await client.call(.POST, "/execs/trap/signal", body: Array(#"{"sig":"INT"}"#.utf8)).status == 400)
        #expect(try await client.call(.POST, "/execs/nobody/signal", body: Array(#"{"signal":"INT"}"#.utf8)).status == 404)
        // TERM is not trapped: the shell ends by it.
        let term: SignalResponse = try await client.json(.POST, "/execs/trap/signal", body: SignalRequest(signal: "TERM"))
        #expect(term.signaled)
        let result = try await exec.result()
        #expect(result.exit?.exitCode == 128 + SIGTERM)
        #expect(result.exit?.signal == "SIGTERM")
        #expect(result.exit?.cancelled == false, "a signal is not a cancel")
        // Ended: 200, not signalled.
        let late: SignalResponse = try await client.json(.POST, "/execs/trap/signal", body: SignalRequest(signal: "INT"))
        #expect(!late.signaled)
        await runnerd.stop()
    }

    @Test func stopAndContinueSuspendAndResumeTheGroup() async throws {
        let runnerd = try await RunnerdProcess.start()
        let client = runnerd.client
        let exec = LiveExec(client, ExecRequest(execId: "counter", shell: "i=0; while :; do i=$((i+1)); echo tick-$i; sleep 0.05; done", timeoutMs: 60_000))
        #expect(try await exec.waitForOutput("tick-3"))
        let stopped: SignalResponse = try await client.json(.POST, "/execs/counter/signal", body: SignalRequest(signal: "STOP"))
        #expect(stopped.signaled)
        let pid = try #require(try await client.status("counter").pid)
        #expect(try await eventually { ProcStatus.state(pid) == "T" }, "the shell is stopped")
        let cont: SignalResponse = try await client.json(.POST, "/execs/counter/signal", body: SignalRequest(signal: "SIGCONT"))
        #expect(cont.signaled)
        #expect(try await eventually { ProcStatus.state(pid) != "T" })
        let ticks = exec.stdoutText.components(separatedBy: "tick-").count
        #expect(try await eventually { exec.stdoutText.components(separatedBy: "tick-").count > ticks + 2 }, "it runs again")
        let killed: SignalResponse = try await client.json(.POST, "/execs/counter/signal", body: SignalRequest(signal: "KILL"))
        #expect(killed.signaled)
        #expect(try await exec.result().exit?.signal == "SIGKILL")
        await runnerd.stop()
    }
}
