import Foundation
import RunnerProtocol
import RunnerdClient
import Testing
import TestSupport

@Suite("exec lifecycle against a real runnerd", .timeLimit(.minutes(10)))
struct ExecLifecycleTests {
    @Test func commandStreamsStartOutputAndExit() async throws {
        let runnerd = try await RunnerdProcess.start()
        let result = try await runnerd.client.run("basic", ["sh", "-c", "printf 'out\\n'; printf 'err\\n' >&2; exit 7"])
        result.checkSequence()
        let start = try #require(result.start)
        #expect(start.execId == "basic")
        #expect(start.pid > 1)
        #expect(result.stdoutText == "out\n")
        #expect(String(decoding: result.stderr, as: UTF8.self) == "err\n")
        let exit = try #require(result.exit)
        #expect(exit.exitCode == 7)
        #expect(exit.signal == nil)
        #expect(!exit.timedOut && !exit.cancelled)
        #expect(exit.truncated == .init(stdout: false, stderr: false))
        await runnerd.stop()
    }

    @Test func shellRunsThroughBashLogin() async throws {
        let runnerd = try await RunnerdProcess.start()
        let result = try await runnerd.client.runShell("shell", "shopt -q login_shell && echo login; echo \"$0\"; exit 4")
        #expect(result.stdoutText.hasPrefix("login\n"))
        #expect(result.stdoutText.contains("bash"))
        #expect(result.exit?.exitCode == 4)
        await runnerd.stop()
    }

    @Test func eachExecIsItsOwnSessionAndProcessGroup() async throws {
        let runnerd = try await RunnerdProcess.start()
        let result = try await runnerd.client.run("pgrp", ["sh", "-c", "cat /proc/$$/stat"])
        let text = result.stdoutText
        let afterComm = text[text.index(after: text.lastIndex(of: ")")!)...].split(separator: " ")
        let pid = Int32(text.split(separator: " ")[0])
        let pgrp = Int32(afterComm[2])
        let session = Int32(afterComm[3])
        #expect(pid == result.start?.pid)
        #expect(pgrp == pid, "the exec leads its own process group")
        #expect(session == pid, "the exec leads its own session")
        await runnerd.stop()
    }

    @Test func signalDeathIs128PlusN() async throws {
        let runnerd = try await RunnerdProcess.start()
        let result = try await runnerd.client.run("segv", ["sh", "-c", "kill -SEGV $$"])
        #expect(result.exit?.exitCode == 139)
        #expect(result.exit?.signal == "SIGSEGV")
        await runnerd.stop()
    }

    @Test func statusIsRunningThenExitedThenGone() async throws {
        let runnerd = try await RunnerdProcess.start()
        let client = runnerd.client
        let streaming = Task { try await client.run("st", ["sh", "-c", "sleep 60; exit 5"]) }
        #expect(try await eventually { try await client.status("st").state == .running })
        let running = try await client.status("st")
        #expect(running.startedAtMs != nil)
        #expect(try await client.health().liveExecs == 1)
        #expect(try await client.cancel("st").killed)
        _ = try await streaming.value
        let exited = try await client.status("st")
        #expect(exited.state == .exited)
        #expect(exited.exitCode == 143)
        #expect(exited.cancelled == true)
        let (code, body) = try await client.call(.GET, "/execs/never-was")
        #expect(code == 404)
        #expect(try WireJSON.decode(ExecStatus.self, from: body) == ExecStatus(execId: "never-was", state: .gone))
        await runnerd.stop()
    }

    @Test func execOutlivesTheConnectionThatStartedIt() async throws {
        let runnerd = try await RunnerdProcess.start()
        // The command waits at a gate the test opens once the connection is gone.
        let gate = Gate(in: runnerd.workspace, "orphan.fifo")
        let raw = try RawConnection(port: runnerd.port)
        raw.post("/execs", token: runnerd.token, json: #"{"execId":"orphan","shell":"read line < orphan.fifo; echo done","timeoutMs":0,"stdoutMaxBytes":0,"stderrMaxBytes":0}"#)
        #expect(try await eventually { try await runnerd.client.status("orphan").state == .running })
        raw.hangUp()
        try await gate.open()
        let status = try await runnerd.client.waitUntilExited("orphan")
        #expect(status.exitCode == 0)
        let replay = try await runnerd.client.attachAll("orphan")
        replay.checkSequence()
        #expect(replay.stdoutText == "done\n")
        await runnerd.stop()
    }

    @Test func healthReportsLiveExecsAndActivity() async throws {
        let runnerd = try await RunnerdProcess.start()
        let client = runnerd.client
        let before = try await client.health()
        #expect(before.ok)
        #expect(before.liveExecs == 0)
        #expect(before.version.isEmpty == false)
        #expect(before.bootedAtMs <= before.lastActivityAtMs)
        try await clockPassed(before.lastActivityAtMs)
        _ = try await client.run("touch", ["true"])
        let after = try await client.health()
        #expect(after.lastActivityAtMs > before.lastActivityAtMs)
        // Output alone (no request: `/healthz` leaves the clock alone) moves the clock too. The
        // exec prints only once the test opens its gate, outside runnerd's API.
        let gate = Gate(in: runnerd.workspace, "chatty.fifo")
        let chatty = LiveExec(client, ExecRequest(execId: "chatty", shell: "read line < chatty.fifo; echo x; read line < chatty.fifo", timeoutMs: 60_000))
        #expect(try await eventually { chatty.eventsSoFar.contains { $0.kind == .start } })
        let quiet = try await client.health().lastActivityAtMs
        let opened = try await clockPassed(quiet)
        try await gate.open()
        #expect(try await chatty.waitForOutput("x"))
        #expect(try await client.health().lastActivityAtMs >= opened, "output at \(opened) or later left the clock at \(quiet)")
        try await gate.open()
        #expect(try await chatty.result().exit?.exitCode == 0)
        await runnerd.stop()
    }

    /// Contract v1.1: the probes leave the activity clock alone (a spawner's health checks must
    /// not keep an idle session alive); any other request moves it.
    @Test func probesDoNotTouchTheActivityClock() async throws {
        let runnerd = try await RunnerdProcess.start()
        let client = runnerd.client
        let first = try await client.health().lastActivityAtMs
        try await clockPassed(first)
        #expect(try await client.ready())
        #expect(try await client.call(.GET, "/metrics").status == 200)
        #expect(try await client.health().lastActivityAtMs == first)
        #expect(try await client.call(.GET, "/execs/none").status == 404)
        #expect(try await client.health().lastActivityAtMs > first)
        await runnerd.stop()
    }

    @Test func finishedExecsAreRetainedForStatusAndAttach() async throws {
        let runnerd = try await RunnerdProcess.start()
        for index in 0..<20 {
            _ = try await runnerd.client.run("r\(index)", ["sh", "-c", "echo \(index)"])
        }
        // The last 16 stay in memory, older ones are read back from the journal (64 on disk).
        for index in 0..<20 {
            let status = try await runnerd.client.status("r\(index)")
            #expect(status.state == .exited, "r\(index) is retained")
            #expect(status.exitCode == 0)
            let replay = try await runnerd.client.attachAll("r\(index)")
            #expect(replay.stdoutText == "\(index)\n")
        }
        await runnerd.stop()
    }

    @Test func cwdResolvesInsideTheWorkspaceOnly() async throws {
        let runnerd = try await RunnerdProcess.start()
        let ws = runnerd.workspace
        let outside = RunnerdProcess.makeTempDir("outside")
        try FileManager.default.createDirectory(atPath: ws + "/sub/deeper", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: ws + "/inlink", withDestinationPath: ws + "/sub")
        try FileManager.default.createSymbolicLink(atPath: ws + "/rellink", withDestinationPath: "sub/deeper")
        try FileManager.default.createSymbolicLink(atPath: ws + "/outlink", withDestinationPath: outside)
        try FileManager.default.createSymbolicLink(atPath: ws + "/sub/uplink", withDestinationPath: "../../")
        FileManager.default.createFile(atPath: ws + "/file", contents: Data("x".utf8))
        let real = URL(fileURLWithPath: ws).resolvingSymlinksInPath().path

        let cases: [(String?, String?)] = [
            (nil, real), ("sub", real + "/sub"), (ws + "/sub/deeper", real + "/sub/deeper"),
            ("inlink", real + "/sub"), ("rellink", real + "/sub/deeper"), ("sub/deeper/../..", real),
        ]
        for (index, (cwd, expected)) in cases.enumerated() {
            let result = try await runnerd.client.run("cwd\(index)", ["pwd", "-P"]) { $0.cwd = cwd }
            #expect(result.stdoutText == expected! + "\n", "cwd \(cwd ?? "nil")")
        }
        let refused = ["..", "../", "sub/../..", "outlink", "/", outside, "sub/uplink", "missing", "file", ws + "/../"]
        for (index, cwd) in refused.enumerated() {
            let result = try await runnerd.client.run("bad\(index)", ["pwd"]) { $0.cwd = cwd }
            #expect(result.events.count == 1)
            #expect(result.fail?.code == .invalidCwd, "cwd \(cwd) must be refused")
        }
        await runnerd.stop()
    }
}
