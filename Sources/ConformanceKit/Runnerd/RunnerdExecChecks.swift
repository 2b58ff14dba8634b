/// §1 exec events, exit codes, cwd, failures, ids taken, status and the live-exec limit.
enum RunnerdExecChecks {
    static func all(_ t: RunnerdTarget, _ options: RunnerdOptions) -> [Check] {
        [
            Check("exec.events", "start first, output, exit last; seq 1, 2, 3 … with no holes; NDJSON") {
                let id = t.id("events")
                let run = try await t.run(t.request(id, shell: "printf out; printf err >&2; exit 3"))
                let exit = try run.exited(3)
                let start = run.events[0]
                try expect(start["execId"]?.string == id, "start.execId is \(start["execId"]?.description ?? "none"), not \(id)")
                try expect(run.stdoutText == "out" && run.stderrText == "err", "output: stdout \(run.stdoutText.debugDescription), stderr \(run.stderrText.debugDescription)")
                try expect(exit["timedOut"]?.bool == false && exit["cancelled"]?.bool == false, "exit: \(exit)")
                try expect(exit["truncated"] == ["stdout": false, "stderr": false], "exit.truncated: \(exit["truncated"]?.description ?? "none")")
                try expect(exit["signal"] == nil, "exit.signal on a normal exit: \(exit)")
            },
            Check("exec.command-argv", "command runs argv as given (no shell)") {
                let run = try await t.run(t.request(t.id("argv"), command: ["printf", "%s|", "a b", "$HOME", "'q'"]))
                try run.exited(0)
                try expect(run.stdoutText == "a b|$HOME|'q'|", "stdout \(run.stdoutText.debugDescription)")
            },
            Check("exec.shell", "shell runs a script (bash -lc or sh -c)") {
                let run = try await t.run(t.request(t.id("shell"), shell: "x=4; echo $((x * 10 + 2)) | tr 4 X"))
                try run.exited(0)
                try expect(run.stdoutText == "X2\n", "stdout \(run.stdoutText.debugDescription)")
            },
            Check("exec.binary-output", "stdout carries raw bytes (all 256 byte values) exactly") {
                let format = (0..<256).map { "\\" + String($0, radix: 8).leftPad(3) }.joined()
                let run = try await t.run(t.request(t.id("bytes"), command: ["printf", format]))
                try run.exited(0)
                try expect(run.stdout == (0..<256).map { UInt8($0) }, "got \(run.stdout.count) bytes, not the 256 values in order")
            },
            Check("exec.exit-by-signal", "a process killed by signal N reports exitCode 128+N and the signal's name") {
                let run = try await t.run(t.request(t.id("sigkill"), shell: "kill -KILL $$"))
                let exit = try run.exited(137)
                let name = exit["signal"]?.string ?? ""
                try expect(name == "SIGKILL" || name == "KILL", "exit.signal is \(exit["signal"]?.description ?? "absent"), expected SIGKILL")
            },
            Check("exec.cwd", "cwd is relative to the workspace or absolute inside it; the default is the workspace") {
                try await t.stage([("\(t.dir)/cwd/sub/.keep", [])])
                let root = try await t.sh("pwd", "pwd -P").trimmingCharacters()
                let relative = try await t.run(t.request(t.id("cwd-rel"), shell: "pwd -P", extra: ["cwd": .string("\(t.dir)/cwd/sub")]))
                try relative.exited(0)
                try expect(relative.stdoutText.trimmingCharacters() == root + "/\(t.dir)/cwd/sub", "cwd \(t.dir)/cwd/sub ran in \(relative.stdoutText)")
                let absolute = try await t.run(t.request(t.id("cwd-abs"), shell: "pwd -P", extra: ["cwd": .string(root + "/\(t.dir)/cwd")]))
                try absolute.exited(0)
                try expect(absolute.stdoutText.trimmingCharacters() == root + "/\(t.dir)/cwd", "cwd \(root)/\(t.dir)/cwd ran in \(absolute.stdoutText)")
            },
            Check("exec.cwd-invalid", "a cwd that is missing, not a directory, or outside the workspace (.., /, a symlink out) fails INVALID_CWD") {
                try await t.stage([("\(t.dir)/cwdbad/file", Array("x".utf8))])
                try await t.sh("link", "ln -s / \(t.dir)/cwdbad/out && ln -s ../../.. \(t.dir)/cwdbad/up")
                for (i, cwd) in ["\(t.dir)/cwdbad/missing", "\(t.dir)/cwdbad/file", "..", "/", "\(t.dir)/cwdbad/out", "\(t.dir)/cwdbad/up", "\(t.dir)/cwdbad/out/tmp"].enumerated() {
                    try await t.expectFailEvent(t.request(t.id("cwd-bad-\(i)"), shell: "pwd", extra: ["cwd": .string(cwd)]), code: "INVALID_CWD", "cwd \(cwd)")
                }
            },
            Check("exec.spawn-failed", "a command that cannot start ends in fail SPAWN_FAILED, last") {
                let run = try await t.run(t.request(t.id("nobinary"), command: ["/nonexistent-\(t.runTag)/binary"]))
                _ = try run.fail("SPAWN_FAILED")
            },
            Check("exec.duplicate", "an id that is running is DUPLICATE_EXEC (one fail event, seq 1) and the running exec is untouched") {
                let id = t.id("dup")
                let (stream, _) = try await t.started(t.request(id, command: ["cat"], extra: ["stdinMode": "hold"]))
                defer { stream.close() }
                try await t.expectRefused(t.request(id, shell: "echo second"), code: "DUPLICATE_EXEC", "a second exec \(id)")
                _ = try await t.json("POST", "/execs/\(id)/stdin", ["b64": .string(Base64Text.encode(Array("{\"still\":1}\n".utf8)))], schema: "StdinResponse")
                _ = try await t.json("POST", "/execs/\(id)/stdin", ["eof": true], schema: "StdinResponse")
                let run = try await stream.rest()
                try run.exited(0)
                try expect(run.stdoutText == "{\"still\":1}\n", "the first exec's output: \(run.stdoutText.debugDescription)")
            },
            Check("exec.status", "GET /execs/{id}: running with startedAtMs, exited with exitCode, unknown is 404 {execId, state:\"gone\"}") {
                let id = t.id("status")
                let (stream, start) = try await t.started(t.request(id, command: ["cat"], extra: ["stdinMode": "hold"]))
                defer { stream.close() }
                let running = try await t.json("GET", "/execs/\(id)", schema: "ExecStatus")
                try expect(running["state"]?.string == "running" && running["execId"]?.string == id, "while running: \(running)")
                try expect(running["startedAtMs"] == start["startedAtMs"], "startedAtMs \(running["startedAtMs"]?.description ?? "?") differs from start's \(start["startedAtMs"]?.description ?? "?")")
                _ = try await t.call("POST", "/execs/\(id)/stdin", json: ["eof": true])
                try await stream.rest().exited(0)
                let exited = try await t.json("GET", "/execs/\(id)", schema: "ExecStatus")
                try expect(exited["state"]?.string == "exited" && exited["exitCode"]?.int == 0, "after the exit: \(exited)")
                let unknown = t.id("never-started")
                let gone = try await t.json("GET", "/execs/\(unknown)", status: 404, schema: "ExecStatus")
                try expect(gone["state"]?.string == "gone" && gone["execId"]?.string == unknown, "unknown id: \(gone)")
            },
            Check("exec.own-process-group", "each exec is its own process group: cancel ends a background child too") {
                let id = t.id("group")
                let (stream, _) = try await t.started(t.request(id, shell: "sleep 300 & echo bg=$!; wait"))
                defer { stream.close() }
                try await stream.untilOutput("\n")
                let text = String(decoding: stream.seen.flatMap { ExecRun.bytes($0, "stdout") }, as: UTF8.self)
                let pid = try require(text.split(separator: "=").last.flatMap { Int($0.trimmingCharacters()) }, "no pid in \(text.debugDescription)")
                let c = try await t.json("POST", "/execs/\(id)/cancel", schema: "CancelResponse")
                try expect(c["killed"]?.bool == true, "cancel: \(c)")
                let run = try await stream.rest()
                _ = try run.exit()
                let gone = try await eventually(.seconds(15), every: .milliseconds(200)) {
                    let probe = try await t.run(t.request(t.id("group-probe-\(UInt32.random(in: 0...UInt32.max))"), shell: "kill -0 \(pid) 2>/dev/null && exit 9; exit 0"))
                    return probe.last?["exitCode"]?.int == 0
                }
                try expect(gone, "the background child \(pid) survived the cancel of its exec")
            },
            Check("exec.limit", "past RUNNERD_MAX_LIVE_EXECS running execs a start fails EXEC_LIMIT; a slot frees when one ends", timeout: .seconds(120)) {
                var streams: [(String, EventStream)] = []
                defer { for (_, s) in streams { s.close() } }
                do {
                    for i in 0..<options.maxLiveExecs {
                        let id = t.id("limit-\(i)")
                        let (stream, _) = try await t.started(t.request(id, command: ["cat"], extra: ["stdinMode": "hold"]))
                        streams.append((id, stream))
                    }
                    try await t.expectFailEvent(t.request(t.id("limit-over"), shell: "echo over"), code: "EXEC_LIMIT", "exec number \(options.maxLiveExecs + 1)")
                    let (firstId, first) = streams.removeFirst()
                    _ = try await t.call("POST", "/execs/\(firstId)/stdin", json: ["eof": true])
                    try await first.rest().exited(0)
                    try await t.run(t.request(t.id("limit-after"), shell: "exit 0")).exited(0)
                } catch {
                    for (id, _) in streams { await t.finish(id) }
                    throw error
                }
                for (id, _) in streams { await t.finish(id) }
            },
        ]
    }
}

extension String {
    func leftPad(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
    func trimmingCharacters() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
extension Substring {
    func trimmingCharacters() -> String { String(self).trimmingCharacters() }
}
