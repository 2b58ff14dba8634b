import Foundation
import RunnerProtocol
import RunnerdClient
import Testing
import TestSupport

@Suite("PTY execs", .timeLimit(.minutes(3)))
struct TerminalTests {
    static let size = TerminalSize(cols: 80, rows: 24)

    @Test func theCommandRunsOnItsOwnTerminal() async throws {
        let runnerd = try await RunnerdProcess.start()
        let result = try await runnerd.client.runShell(
            "tty", "tty; test -t 0 && echo in-tty; test -t 1 && echo out-tty; test -t 2 && echo err-tty; echo \"term=$TERM\"; (exec 3</dev/tty) && echo ctty-ok"
        ) { $0.pty = Self.size }
        let text = result.stdoutText
        #expect(text.range(of: #"/dev/pts/[0-9]+\r\n"#, options: .regularExpression) != nil, "\(text)")
        #expect(text.contains("in-tty\r\n"))
        #expect(text.contains("out-tty\r\n"))
        #expect(text.contains("err-tty\r\n"))
        #expect(text.contains("term=xterm-256color\r\n"))
        #expect(text.contains("ctty-ok\r\n"), "the terminal is the controlling tty (/dev/tty opens): \(text)")
        #expect(result.stderr.isEmpty, "a terminal has no stderr events")
        #expect(result.exit?.exitCode == 0)
        result.checkSequence()
        // A request's TERM wins.
        let own = try await runnerd.client.runShell("term", "echo \"term=$TERM\"") {
            $0.pty = Self.size
            $0.env = ["TERM": "vt100"]
        }
        #expect(own.stdoutText == "term=vt100\r\n")
        await runnerd.stop()
    }

    @Test func resizeChangesTheSizeAndSendsSIGWINCH() async throws {
        let runnerd = try await RunnerdProcess.start()
        let client = runnerd.client
        let exec = LiveExec(client, ExecRequest(
            execId: "sized", shell: "trap 'echo \"winch $(stty size)\"' WINCH; echo \"size $(stty size)\"; while :; do sleep 0.05; done",
            timeoutMs: 60_000, pty: Self.size))
        #expect(try await exec.waitForOutput("size 24 80"))
        let ok: OKResponse = try await client.json(.POST, "/execs/sized/resize", body: TerminalSize(cols: 132, rows: 43))
        #expect(ok.ok)
        #expect(try await exec.waitForOutput("winch 43 132"), "\(exec.stdoutText)")
        // Out of range, malformed: 400; unknown: 404.
        #expect(try await client.call(.POST, "/execs/sized/resize", body: Array(#"{"cols":0,"rows":10}"#.utf8)).status == 400)
        #expect(try await client.call(.POST, "/execs/sized/resize", body: Array(#"{"cols":10,"rows":1001}"#.utf8)).status == 400)
        #expect(try await client.call(.POST, "/execs/sized/resize", body: Array(#"{"cols":"wide"}"#.utf8)).status == 400)
        #expect(try await client.call(.POST, "/execs/nobody/resize", body: Array(#"{"cols":10,"rows":10}"#.utf8)).status == 404)
        _ = try await client.cancel("sized")
        _ = try await exec.result()
        // Ended: 404.
        #expect(try await client.call(.POST, "/execs/sized/resize", body: Array(#"{"cols":10,"rows":10}"#.utf8)).status == 404)
        // Not a terminal: 409.
        let plain = LiveExec(client, ExecRequest(execId: "plain", command: ["sleep", "30"], timeoutMs: 60_000))
        #expect(try await eventually { try await client.status("plain").state == .running })
        let (status, body) = try await client.call(.POST, "/execs/plain/resize", body: Array(#"{"cols":10,"rows":10}"#.utf8))
        #expect(status == 409)
        #expect(try WireJSON.decode(ErrorBody.self, from: body).error == "not_a_pty")
        _ = try await client.cancel("plain")
        _ = try await plain.result()
        await runnerd.stop()
    }

    @Test func ptySizeOutOfRangeIsRefusedWith400() async throws {
        let runnerd = try await RunnerdProcess.start()
        for (cols, rows) in [(0, 24), (80, 0), (1001, 24), (80, 5000), (-1, 24)] {
            let body = try WireJSON.encode(ExecRequest(execId: "bad-\(cols)-\(rows)", command: ["true"], pty: TerminalSize(cols: cols, rows: rows)))
            #expect(try await runnerd.client.call(.POST, "/execs", body: body).status == 400, "\(cols)x\(rows)")
        }
        #expect(try await runnerd.client.status("bad-0-24").state == .gone, "nothing started")
        let edge = try await runnerd.client.runShell("edge", "stty size") { $0.pty = TerminalSize(cols: 1000, rows: 1) }
        #expect(edge.stdoutText == "1 1000\r\n")
        await runnerd.stop()
    }

    @Test func aPythonREPLIsDrivenThroughStdin() async throws {
        let runnerd = try await RunnerdProcess.start()
        let exec = LiveExec(runnerd.client, ExecRequest(execId: "repl", command: ["/usr/bin/python3", "-q"], timeoutMs: 60_000, pty: Self.size))
        // Interactive because stdin is a terminal: the prompt comes without -i.
        #expect(try await exec.waitForOutput(">>> "), "\(exec.stdoutText)")
        #expect(try await exec.type("import os, sys\n").ok)
        #expect(try await exec.type("print(6 * 7, os.isatty(0), sys.stdin.isatty())\n").ok)
        #expect(try await exec.waitForOutput("42 True True"), "\(exec.stdoutText)")
        // The terminal echoes what is typed, like any terminal.
        #expect(exec.stdoutText.contains("print(6 * 7"))
        #expect(try await exec.type("raise SystemExit(3)\n").ok)
        let result = try await exec.result()
        #expect(result.exit?.exitCode == 3)
        await runnerd.stop()
    }

    @Test func ctrlCInterruptsTheForegroundCommandAndTheShellLivesOn() async throws {
        let runnerd = try await RunnerdProcess.start()
        let client = runnerd.client
        let exec = LiveExec(client, ExecRequest(
            execId: "shell", command: ["bash", "--norc", "--noprofile", "-i"], env: ["PS1": "prompt$ "], timeoutMs: 60_000, pty: Self.size))
        #expect(try await exec.waitForOutput("prompt$ "))
        try await exec.type("sleep 100\n")
        // The sleep is running, in the exec's session (bash made it its own job).
        var sleeper: ProcessEntry?
        #expect(try await eventually {
            let list: ProcessList = try await client.json(.GET, "/processes")
            sleeper = list.processes.first { $0.command == ["sleep", "100"] }
            return sleeper != nil
        })
        let sleep = try #require(sleeper)
        #expect(sleep.execId == "shell")
        try await exec.type("\u{03}")
        try await exec.type("echo \"status=$?\"\n")
        #expect(try await exec.waitForOutput("status=130"), "sleep ended by SIGINT (128+2): \(exec.stdoutText)")
        #expect(try await eventually {
            let list: ProcessList = try await client.json(.GET, "/processes")
            return !list.processes.contains { $0.pid == sleep.pid }
        })
        try await exec.type("exit 7\n")
        let result = try await exec.result()
        #expect(result.exit?.exitCode == 7, "the shell lived on to exit on its own")
        await runnerd.stop()
    }

    @Test func stdinTakesRawBytesAndEOFIsControlD() async throws {
        let runnerd = try await RunnerdProcess.start()
        let exec = LiveExec(runnerd.client, ExecRequest(execId: "cat", command: ["cat"], timeoutMs: 60_000, pty: Self.size))
        #expect(try await eventually { try await runnerd.client.status("cat").state == .running })
        // Not JSON, no newline: fine on a terminal.
        #expect(try await exec.type("no json here").ok)
        #expect(try await exec.type(" {\n").ok)
        #expect(try await exec.waitForOutput("no json here {\r\nno json here {\r\n"), "echo, then cat's copy: \(exec.stdoutText)")
        #expect(try await runnerd.client.stdin("cat", StdinRequest(eof: true)).ok)
        let result = try await exec.result()
        #expect(result.exit?.exitCode == 0, "cat saw end of input")
        await runnerd.stop()
    }

    @Test func outputCapsAndReplayApplyToTerminalOutput() async throws {
        let runnerd = try await RunnerdProcess.start()
        let result = try await runnerd.client.runShell("capped", "head -c 10000 /dev/zero | tr '\\0' x") {
            $0.pty = Self.size
            $0.stdoutMaxBytes = 100
        }
        #expect(result.stdout.count == 100)
        #expect(result.exit?.truncated.stdout == true)
        let replay = try await runnerd.client.attachAll("capped")
        #expect(replay.events == result.events)
        await runnerd.stop()
    }
}
