import Foundation
import RunnerProtocol
import RunnerdClient
import Testing
import TestSupport

@Suite("process table", .timeLimit(.minutes(3)))
struct ProcessTableTests {
    @Test func aServerLeftRunningByAnEndedExecIsListedAndCanBeStopped() async throws {
        let runnerd = try await RunnerdProcess.start()
        let client = runnerd.client
        // A real server in the background; the exec that started it ends at once.
        let started = try await client.runShell(
            "start-server", "/usr/bin/python3 -m http.server 0 --bind 127.0.0.1 >/dev/null 2>&1 & echo $!")
        #expect(started.exit?.exitCode == 0)
        let pid = try #require(Int32(started.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)))
        var list: ProcessList = try await client.json(.GET, "/processes")
        let server = try #require(list.processes.first { $0.pid == pid }, "\(list.processes.map(\.command))")
        #expect(server.command == ["/usr/bin/python3", "-m", "http.server", "0", "--bind", "127.0.0.1"])
        #expect(server.execId == nil, "its exec has ended")
        #expect(server.sid == started.start?.pid, "still in the exec's session")
        #expect(server.pgid == started.start?.pid)
        // The agent's uid: 10001 under a root runnerd, runnerd's own otherwise.
        let agentUID: UInt32 = LaunchProfile.current == .user ? LaunchProfile.ordinaryUID : (getuid() == 0 ? 10001 : getuid())
        #expect(server.uid == agentUID)
        #expect(server.startedAtMs >= started.start!.startedAtMs - 1000)
        #expect(server.startedAtMs <= Int64(Date().timeIntervalSince1970 * 1000) + 1000)
        #expect(!list.processes.contains { $0.pid == runnerd.pid }, "runnerd is not listed")
        #expect(!list.processes.contains { $0.pid == 1 })

        let response: SignalResponse = try await client.json(.POST, "/processes/\(pid)/signal", body: SignalRequest(signal: "TERM"))
        #expect(response.signaled)
        #expect(try await eventually {
            list = try await client.json(.GET, "/processes")
            return !list.processes.contains { $0.pid == pid }
        }, "the server is gone")
        #expect(try await eventually { runnerd.zombieChildren.isEmpty }, "and reaped")
        await runnerd.stop()
    }

    @Test func membersOfALiveExecCarryItsId() async throws {
        let runnerd = try await RunnerdProcess.start()
        let client = runnerd.client
        let exec = LiveExec(client, ExecRequest(execId: "tree", shell: "sleep 60 & sleep 61 & echo up; wait", timeoutMs: 60_000))
        #expect(try await exec.waitForOutput("up"))
        let list: ProcessList = try await client.json(.GET, "/processes")
        let leader = try #require(try await client.status("tree").pid)
        let members = list.processes.filter { $0.execId == "tree" }
        #expect(Set(members.map(\.pid)).contains(leader))
        #expect(members.contains { $0.command == ["sleep", "60"] })
        #expect(members.contains { $0.command == ["sleep", "61"] })
        #expect(members.allSatisfy { $0.pgid == leader })
        #expect(members.allSatisfy { ["R", "S", "D"].contains($0.state) })
        _ = try await client.cancel("tree")
        _ = try await exec.result()
        await runnerd.stop()
    }

    @Test func runnerdItselfPID1AndStrangersAreRefused() async throws {
        let runnerd = try await RunnerdProcess.start()
        let client = runnerd.client
        let body = Array(#"{"signal":"TERM"}"#.utf8)
        #expect(try await client.call(.POST, "/processes/\(runnerd.pid)/signal", body: body).status == 404, "runnerd itself")
        #expect(try await client.call(.POST, "/processes/1/signal", body: body).status == 404, "PID 1")
        #expect(try await client.call(.POST, "/processes/\(getpid())/signal", body: body).status == 404, "the test: not runnerd's")
        #expect(try await client.call(.POST, "/processes/99999999/signal", body: body).status == 404, "no such process")
        #expect(try await client.call(.POST, "/processes/abc/signal", body: body).status == 400)
        #expect(try await client.call(.POST, "/processes/-5/signal", body: body).status == 400)
        #expect(try await client.call(.GET, "/processes/1/signal").status == 405)
        let exec = LiveExec(client, ExecRequest(execId: "victim", command: ["sleep", "60"], timeoutMs: 60_000))
        #expect(try await eventually { try await client.status("victim").state == .running })
        let pid = try #require(try await client.status("victim").pid)
        #expect(try await client.call(.POST, "/processes/\(pid)/signal", body: Array(#"{"signal":"BOGUS"}"#.utf8)).status == 400)
        #expect(runnerd.process.isRunning, "runnerd was not signalled")
        let response: SignalResponse = try await client.json(.POST, "/processes/\(pid)/signal", body: SignalRequest(signal: "KILL"))
        #expect(response.signaled)
        #expect(try await exec.result().exit?.signal == "SIGKILL")
        await runnerd.stop()
    }

    @Test func asPID1EveryOtherProcessOfTheNamespaceIsListed() async throws {
        let runnerd = try await RunnerdProcess.start(wrapper: ["/usr/bin/unshare", "--pid", "--fork", "--mount-proc"])
        #expect(runnerd.announcedPid == 1)
        let client = runnerd.client
        let started = try await client.runShell("bg", "setsid sleep 100 >/dev/null 2>&1 < /dev/null & echo $!")
        let pid = try #require(Int32(started.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)))
        // `$!` is known before the child has exec'd `sleep` (it may still be bash, or setsid).
        #expect(
            try await eventually {
                let list: ProcessList = try await client.json(.GET, "/processes")
                return list.processes.contains { $0.pid == pid && $0.command == ["sleep", "100"] }
            })
        let list: ProcessList = try await client.json(.GET, "/processes")
        #expect(!list.processes.contains { $0.pid == 1 }, "runnerd (PID 1) is not listed")
        #expect(try await client.call(.POST, "/processes/1/signal", body: Array(#"{"signal":"KILL"}"#.utf8)).status == 404)
        let response: SignalResponse = try await client.json(.POST, "/processes/\(pid)/signal", body: SignalRequest(signal: "KILL"))
        #expect(response.signaled)
        await runnerd.stop()
    }
}
