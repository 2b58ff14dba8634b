/// §2/§3 exec streams as SSE, attach with Last-Event-ID, and every proxied call.
enum SpawnerProxyChecks {
    static func all(_ t: SpawnerTarget) -> [Check] {
        [
            Check("exec.sse", "POST …/exec streams SSE: event: = t, id: = seq, data: = the event; start first, exit last", timeout: .seconds(120)) {
                try await withSession(t, "sse") { sid in
                    let run = try await t.exec(sid, t.request("e1", shell: "printf out; printf err >&2; exit 4"))
                    try run.exited(4)
                    try expect(run.stdoutText == "out" && run.stderrText == "err", "output: \(run.stdoutText.debugDescription) \(run.stderrText.debugDescription)")
                    let bad = try await t.call("POST", "/v1/sessions/\(sid)/exec", raw: Array("{nope".utf8))
                    try t.expectError(bad, [400], "exec with a body that is not JSON")
                }
            },
            Check("exec.attach", "attach resumes after Last-Event-ID (or ?sinceSeq=) and follows the exec; unknown exec 404", timeout: .seconds(120)) {
                try await withSession(t, "attach") { sid in
                    let live = try await t.exec(sid, t.request("e1", shell: "printf a; printf b >&2; printf c"))
                    try live.exited(0)
                    let a = try await t.sse("GET", "/v1/sessions/\(sid)/execs/e1/attach", extra: [("Last-Event-ID", "2")])
                    defer { a.close() }
                    let tail = try await t.events(a)
                    try expect(tail.raw == Array(live.raw.dropFirst(2)), "Last-Event-ID 2: \(ExecRun.summary(tail.events)) of \(ExecRun.summary(live.events))")
                    let q = try await t.sse("GET", "/v1/sessions/\(sid)/execs/e1/attach?sinceSeq=1")
                    defer { q.close() }
                    let tail2 = try await t.events(q)
                    try expect(tail2.raw == Array(live.raw.dropFirst(1)), "?sinceSeq=1: \(ExecRun.summary(tail2.events))")
                    let past = try await t.sse("GET", "/v1/sessions/\(sid)/execs/e1/attach", extra: [("Last-Event-ID", "18446744073709551615")])
                    defer { past.close() }
                    let nothing = try await t.events(past)
                    try expect(nothing.events.isEmpty, "Last-Event-ID past the end: \(ExecRun.summary(nothing.events))")
                    let unknown = try await t.call("GET", "/v1/sessions/\(sid)/execs/nope/attach")
                    try expect(unknown.status == 404, "attach to an unknown exec: \(unknown.status)")
                }
            },
            Check("exec.attach-gap", "an attach for events the ring no longer holds gets event: gap first", timeout: .seconds(120)) {
                try await withSession(t, "gap") { sid in
                    let live = try await t.exec(sid, t.request("big", shell: "i=0; while [ $i -lt 64 ]; do dd if=/dev/zero bs=16384 count=1 2>/dev/null; i=$((i+1)); done"))
                    try live.exited(0)
                    let a = try await t.sse("GET", "/v1/sessions/\(sid)/execs/big/attach", extra: [("Last-Event-ID", "0")])
                    defer { a.close() }
                    let replay = try await t.events(a)
                    let gap = try require(replay.events.first, "no events")
                    try expect(gap["t"]?.string == "gap" && gap["fromSeq"]?.int == 1, "the first event after Last-Event-ID 0: \(gap)")
                    let rest = ExecRun(events: Array(replay.events.dropFirst()), raw: Array(replay.raw.dropFirst()), what: "attach")
                    try rest.verifyOrder(firstSeq: (gap["toSeq"]?.uint ?? 0) + 1)
                }
            },
            Check("proxy.exec-control", "stdin (hold, eof), status, cancel are proxied to runnerd", timeout: .seconds(120)) {
                try await withSession(t, "control") { sid in
                    let stream = try await t.sse("POST", "/v1/sessions/\(sid)/exec", body: t.request("cat", command: ["cat"], extra: ["stdinMode": "hold"]))
                    defer { stream.close() }
                    let first = try require(try await stream.next(), "no first event")
                    try expect(first.event == "start", "first event \(first.event ?? "?")")
                    let running = try await t.call("GET", "/v1/sessions/\(sid)/execs/cat")
                    let status = try t.expectJSON(running, status: 200, schema: "runnerd:ExecStatus", "status")
                    try expect(status["state"]?.string == "running", "status: \(status)")
                    let w = try await t.call("POST", "/v1/sessions/\(sid)/execs/cat/stdin", json: ["b64": .string(Base64Text.encode(Array("{\"x\":1}\n".utf8)))])
                    try expect(try t.expectJSON(w, status: 200, schema: "runnerd:StdinResponse", "stdin")["ok"]?.bool == true, "stdin: \(w.text)")
                    let e = try await t.call("POST", "/v1/sessions/\(sid)/execs/cat/stdin", json: ["eof": true])
                    _ = try t.expectJSON(e, status: 200, schema: "runnerd:StdinResponse", "eof")
                    let run = try await t.events(stream)
                    try expect(run.stdoutText == "{\"x\":1}\n" && run.last?["t"]?.string == "exit", "cat: \(run.stdoutText.debugDescription) \(ExecRun.summary(run.events))")
                    let sleeper = try await t.sse("POST", "/v1/sessions/\(sid)/exec", body: t.request("sleep", command: ["sleep", "60"]))
                    defer { sleeper.close() }
                    _ = try await sleeper.next()
                    let c = try await t.call("POST", "/v1/sessions/\(sid)/execs/sleep/cancel")
                    try expect(try t.expectJSON(c, status: 200, schema: "runnerd:CancelResponse", "cancel")["killed"]?.bool == true, "cancel: \(c.text)")
                    let ended = try await t.events(sleeper)
                    try expect(ended.last?["cancelled"]?.bool == true, "after cancel: \(ExecRun.summary(ended.events))")
                    let gone = try await t.call("GET", "/v1/sessions/\(sid)/execs/never")
                    try expect(gone.status == 404, "status of an unknown exec: \(gone.status)")
                }
            },
            Check("proxy.env-files", "env, files/stage, fs/read, fs/list, files/delete are proxied to runnerd", timeout: .seconds(120)) {
                try await withSession(t, "files") { sid in
                    let env = try await t.call("POST", "/v1/sessions/\(sid)/env", json: ["set": ["CF_VAR": "v", "PATH": "/x"]])
                    let envBody = try t.expectJSON(env, status: 200, schema: "runnerd:EnvResponse", "env")
                    try expect(envBody["denied"] == ["PATH"], "env: \(envBody)")
                    let stage = try await t.call("POST", "/v1/sessions/\(sid)/files/stage", json: ["files": [["path": "d/a.txt", "contentBase64": .string(Base64Text.encode(Array("hello".utf8)))]]])
                    _ = try t.expectJSON(stage, status: 200, schema: "runnerd:StageResponse", "stage")
                    let read = try await t.call("GET", "/v1/sessions/\(sid)/fs/read?path=d/a.txt")
                    try expect(read.status == 200 && read.text == "hello", "read: \(read.status) \(read.text.prefix(40))")
                    let list = try await t.call("GET", "/v1/sessions/\(sid)/fs/list?path=d")
                    let entries = try t.expectJSON(list, status: 200, schema: "runnerd:DirectoryListing", "list")
                    try expect(entries["entries"]?.array?.first?["name"]?.string == "a.txt", "list: \(entries)")
                    let run = try await t.exec(sid, t.request("env", shell: "printf %s \"$CF_VAR\"; cat d/a.txt"))
                    try expect(run.stdoutText == "vhello", "a child sees \(run.stdoutText.debugDescription)")
                    let del = try await t.call("POST", "/v1/sessions/\(sid)/files/delete", json: ["paths": ["d/a.txt"]])
                    _ = try t.expectJSON(del, status: 200, schema: "runnerd:DeleteResponse", "delete")
                    let missing = try await t.call("GET", "/v1/sessions/\(sid)/fs/read?path=d/a.txt")
                    try expect(missing.status == 404, "read after delete: \(missing.status)")
                }
            },
            Check("proxy.interactive", "resize, signal, processes, processes/{pid}/signal are proxied; fs/watch as SSE (event: fs, id: = seq)", feature: .processes, timeout: .seconds(120)) {
                try await withSession(t, "interactive") { sid in
                    let stream = try await t.sse("POST", "/v1/sessions/\(sid)/exec", body: t.request("sh", command: ["sh", "-c", "echo ready; read x; stty size"], extra: ["pty": ["cols": 80, "rows": 24]]))
                    defer { stream.close() }
                    _ = try await stream.next()
                    let resize = try await t.call("POST", "/v1/sessions/\(sid)/execs/sh/resize", json: ["cols": 101, "rows": 33])
                    _ = try t.expectJSON(resize, status: 200, schema: "runnerd:OKResponse", "resize")
                    _ = try await t.call("POST", "/v1/sessions/\(sid)/execs/sh/stdin", json: ["b64": .string(Base64Text.encode(Array("\r".utf8)))])
                    let run = try await t.events(stream)
                    try expect(run.stdoutText.contains("33 101"), "stty size after resize: \(run.stdoutText.debugDescription)")
                    let sleeper = try await t.sse("POST", "/v1/sessions/\(sid)/exec", body: t.request("sleep", command: ["sleep", "63"]))
                    defer { sleeper.close() }
                    let start = try require(try await sleeper.next(), "no start").data.parsedJSON("start")
                    let pid = try require(start["pid"]?.int, "start without pid")
                    let ps = try await t.call("GET", "/v1/sessions/\(sid)/processes")
                    let list = try t.expectJSON(ps, status: 200, schema: "runnerd:ProcessList", "processes")
                    try expect(list["processes"]?.array?.contains { $0["pid"]?.int == pid && $0["execId"]?.string == "sleep" } == true, "processes: no \(pid) with execId sleep")
                    let sig = try await t.call("POST", "/v1/sessions/\(sid)/processes/\(pid)/signal", json: ["signal": "TERM"])
                    _ = try t.expectJSON(sig, status: 200, schema: "runnerd:SignalResponse", "process signal")
                    let ended = try await t.events(sleeper)
                    try expect(ended.last?["t"]?.string == "exit" && ended.last?["exitCode"]?.int == 143, "after SIGTERM to \(pid): \(ExecRun.summary(ended.events))")
                    let after = try await t.call("POST", "/v1/sessions/\(sid)/execs/sleep/signal", json: ["signal": "INT"])
                    try expect(try t.expectJSON(after, status: 200, schema: "runnerd:SignalResponse", "exec signal")["signaled"]?.bool == false, "signal after the end: \(after.text)")
                    _ = try await t.call("POST", "/v1/sessions/\(sid)/files/stage", json: ["files": [["path": "w/.keep", "contentBase64": ""]]])
                    let watch = try await t.sse("GET", "/v1/sessions/\(sid)/fs/watch?path=w")
                    defer { watch.close() }
                    let first = try require(try await watch.next(), "the watch stream ended at once")
                    let event = try first.data.parsedJSON("watch")
                    try t.validate(event, "runnerd:FsWatchEvent", "watch event")
                    // §3: "GET fs/watch as SSE (event: fs, id: = seq)"; the event's own t is accepted too.
                    try expect(["fs", "watching"].contains(first.event ?? "") && first.id == "1" && event["t"]?.string == "watching", "first watch message: event \(first.event ?? "?") id \(first.id ?? "?") \(event)")
                    _ = try await t.call("POST", "/v1/sessions/\(sid)/files/stage", json: ["files": [["path": "w/f", "contentBase64": "eA=="]]])
                    while let message = try await watch.next() {
                        let e = try message.data.parsedJSON("watch")
                        try t.validate(e, "runnerd:FsWatchEvent", "watch event")
                        try expect((message.event == "fs" || message.event == e["t"]?.string) && message.id == e["seq"]?.description, "watch message: event \(message.event ?? "?") id \(message.id ?? "?") for \(e)")
                        if e["path"]?.string == "w/f" { return }
                    }
                    throw CheckFailure("the watch stream ended before w/f was reported")
                }
            },
            Check("terminal.unsigned", "GET …/terminal without a signature is 401") {
                let r = try await t.call("GET", "/v1/sessions/\(t.sid("never"))/terminal", headers: [])
                try expect(r.status == 401, "unsigned terminal: \(r.status)")
            },
        ]
    }
}
