/// §3 terminals and exec signals.
enum RunnerdTerminalChecks {
    static func all(_ t: RunnerdTarget) -> [Check] {
        [
            Check("pty.terminal", "pty:{cols,rows} runs on a terminal of that size, TERM xterm-256color; its output comes as stdout only", feature: .pty) {
                let run = try await t.run(t.request(t.id("pty"), shell: "test -t 0 && test -t 1 && echo TTY-OK; stty size; echo \"TERM=$TERM\"; echo to-stderr >&2",
                                                    extra: ["pty": ["cols": 100, "rows": 30]]))
                try run.exited(0)
                let out = run.stdoutText
                try expect(out.contains("TTY-OK") && out.contains("30 100") && out.contains("TERM=xterm-256color") && out.contains("to-stderr"), "terminal output: \(out.debugDescription)")
                try expect(!run.kinds.contains("stderr"), "a PTY exec sent stderr events")
            },
            Check("pty.stdin-raw", "a PTY exec's /stdin takes raw bytes (no JSON-line check)", feature: .pty) {
                let id = t.id("pty-raw")
                let (stream, _) = try await t.started(t.request(id, command: ["sh", "-c", "echo ready; read line; echo \"got:$line\""], extra: ["pty": ["cols": 80, "rows": 24]]))
                defer { stream.close() }
                try await stream.untilOutput("ready")
                let r = try await RunnerdStdinChecks.write(t, id, "not json\r")
                try expect(r["ok"]?.bool == true, "raw write: \(r)")
                let run = try await stream.rest()
                try run.exited(0)
                try expect(run.stdoutText.contains("got:not json"), "output: \(run.stdoutText.debugDescription)")
            },
            Check("pty.resize", "POST /execs/{id}/resize {cols, rows}: 200 {\"ok\":true} and the terminal has the new size", feature: .pty) {
                let id = t.id("pty-resize")
                let (stream, _) = try await t.started(t.request(id, command: ["sh", "-c", "echo ready; read x; stty size"], extra: ["pty": ["cols": 80, "rows": 24]]))
                defer { stream.close() }
                try await stream.untilOutput("ready")
                _ = try await t.json("POST", "/execs/\(id)/resize", ["cols": 120, "rows": 40], schema: "OKResponse")
                _ = try await RunnerdStdinChecks.write(t, id, "\r")
                let run = try await stream.rest()
                try run.exited(0)
                try expect(run.stdoutText.contains("40 120"), "stty size after the resize: \(run.stdoutText.debugDescription)")
            },
            Check("pty.errors", "resize: 409 not_a_pty for a pipe exec, 404 unknown, 400 out of range; pty out of range is 400", feature: .pty) {
                let (id, stream) = try await RunnerdStdinChecks.held(t, "pty-notpty")
                defer { stream.close() }
                let r = try await t.call("POST", "/execs/\(id)/resize", json: ["cols": 80, "rows": 24])
                await t.finish(id)
                try t.expectError(r, [409], "resize of a pipe exec", error: "not_a_pty")
                let unknown = try await t.call("POST", "/execs/\(t.id("never"))/resize", json: ["cols": 80, "rows": 24])
                try expect(unknown.status == 404, "resize of an unknown exec: \(unknown.status)")
                for size: JSON in [["cols": 0, "rows": 24], ["cols": 80, "rows": 1001]] {
                    let bad = try await t.call("POST", "/execs", json: t.request(t.id("pty-bad"), shell: "true", extra: ["pty": size]))
                    try t.expectError(bad, [400], "pty \(size)")
                }
                let edge = try await t.run(t.request(t.id("pty-edge"), shell: "stty size", extra: ["pty": ["cols": 1000, "rows": 1]]))
                try edge.exited(0)
                try expect(edge.stdoutText.contains("1 1000"), "pty 1000x1: \(edge.stdoutText.debugDescription)")
            },
            Check("signal.exec", "POST /execs/{id}/signal sends a contract signal to the group: {\"signaled\":true}; false once ended", feature: .signals) {
                let id = t.id("sig")
                let (stream, _) = try await t.started(t.request(id, shell: "trap 'echo got-usr1; exit 7' USR1; echo ready; while :; do sleep 1; done"))
                defer { stream.close() }
                try await stream.untilOutput("ready")
                let s = try await t.json("POST", "/execs/\(id)/signal", ["signal": "USR1"], schema: "SignalResponse")
                try expect(s["signaled"]?.bool == true, "signal USR1: \(s)")
                let run = try await stream.rest()
                try run.exited(7)
                try expect(run.stdoutText.contains("got-usr1"), "the trap did not run: \(run.stdoutText.debugDescription)")
                let after = try await t.json("POST", "/execs/\(id)/signal", ["signal": "USR1"], schema: "SignalResponse")
                try expect(after["signaled"]?.bool == false, "signal after the end: \(after)")
            },
            Check("signal.names", "signal names with or without SIG; anything else is 400; SIGKILL gives exit 137", feature: .signals) {
                let id = t.id("sig-kill")
                let (stream, _) = try await t.started(t.request(id, command: ["sleep", "60"]))
                defer { stream.close() }
                for bad in ["SEGV", "NOPE", "9", ""] {
                    let r = try await t.call("POST", "/execs/\(id)/signal", json: ["signal": .string(bad)])
                    try t.expectError(r, [400], "signal \(bad.debugDescription)")
                }
                _ = try await t.json("POST", "/execs/\(id)/signal", ["signal": "SIGCONT"], schema: "SignalResponse")
                _ = try await t.json("POST", "/execs/\(id)/signal", ["signal": "SIGKILL"], schema: "SignalResponse")
                let exit = try await stream.rest().exited(137)
                try expect((exit["signal"]?.string ?? "").hasSuffix("KILL"), "exit.signal: \(exit)")
            },
        ]
    }
}
