/// §1 semantics: timeouts and the sliding deadline, cancel and its grace, execs outliving
/// their connection, attach and replay (sinceSeq, gap), retention of finished execs.
enum RunnerdLifecycleChecks {
    static func all(_ t: RunnerdTarget) -> [Check] {
        [
            Check("timeout.kills", "an orphaned exec past timeoutMs is killed (SIGTERM to its group): exit timedOut true, 143") {
                let id = t.id("timeout")
                let (stream, _) = try await t.started(t.request(id, command: ["sleep", "60"], timeoutMs: 800))
                stream.close()
                let ended = try await eventually(.seconds(20), every: .milliseconds(100)) {
                    let s = try await t.json("GET", "/execs/\(id)", schema: "ExecStatus")
                    return s["state"]?.string == "exited"
                }
                try expect(ended, "the exec still runs 20 s after its 800 ms deadline")
                let replay = try await t.attach(id)
                defer { replay.close() }
                let exit = try await replay.rest().exited(143)
                try expect(exit["timedOut"]?.bool == true && exit["cancelled"]?.bool == false, "exit: \(exit)")
            },
            Check("timeout.sliding", "every attach re-arms timeoutMs: an exec someone keeps attaching to outlives its deadline", timeout: .seconds(60)) {
                let id = t.id("sliding")
                let (first, _) = try await t.started(t.request(id, shell: "sleep 6; echo survived", timeoutMs: 3000))
                first.close()
                // Attaches at ~1.5 s, 3 s and 4.5 s push the deadline to ~7.5 s; the command ends at ~6 s.
                for _ in 0..<3 {
                    try await Task.sleep(for: .milliseconds(1500))
                    let a = try await t.attach(id, sinceSeq: "1")
                    a.close()
                }
                let last = try await t.attach(id)
                defer { last.close() }
                let run = try await last.rest()
                let exit = try run.exited(0)
                try expect(exit["timedOut"]?.bool == false && run.stdoutText == "survived\n", "exit \(exit), stdout \(run.stdoutText.debugDescription)")
            },
            Check("cancel.running", "cancel: 200 {\"killed\":true}, SIGTERM to the group, exit cancelled true 143; again {\"killed\":false}") {
                let id = t.id("cancel")
                let (stream, _) = try await t.started(t.request(id, command: ["sleep", "60"]))
                defer { stream.close() }
                let c = try await t.json("POST", "/execs/\(id)/cancel", schema: "CancelResponse")
                try expect(c["killed"]?.bool == true, "cancel of a running exec: \(c)")
                let exit = try await stream.rest().exited(143)
                try expect(exit["cancelled"]?.bool == true && exit["timedOut"]?.bool == false, "exit: \(exit)")
                let again = try await t.json("POST", "/execs/\(id)/cancel", schema: "CancelResponse")
                try expect(again["killed"]?.bool == false, "cancel of an ended exec: \(again)")
                let unknown = try await t.call("POST", "/execs/\(t.id("never"))/cancel")
                try expect([200, 404].contains(unknown.status), "cancel of an unknown id: \(unknown.status)")
                let body = try t.expectJSON(unknown, status: unknown.status, schema: "CancelResponse", "cancel of an unknown id")
                try expect(body["killed"]?.bool == false, "cancel of an unknown id: \(body)")
            },
            Check("cancel.grace-then-kill", "a group that ignores SIGTERM gets SIGKILL after the grace: exit 137, cancelled", timeout: .seconds(90)) {
                let id = t.id("grace")
                let (stream, _) = try await t.started(t.request(id, shell: "trap '' TERM; echo ready; while :; do sleep 1; done"))
                defer { stream.close() }
                try await stream.untilOutput("ready")
                _ = try await t.json("POST", "/execs/\(id)/cancel", schema: "CancelResponse")
                let exit = try await stream.rest().exited(137)
                try expect(exit["cancelled"]?.bool == true, "exit: \(exit)")
            },
            Check("exec.outlives-connection", "an exec outlives the connection that started it; its events stay for attach") {
                let id = t.id("outlive")
                let (stream, _) = try await t.started(t.request(id, command: ["cat"], extra: ["stdinMode": "hold"]))
                stream.close()
                let status = try await t.json("GET", "/execs/\(id)", schema: "ExecStatus")
                try expect(status["state"]?.string == "running", "after the client went away: \(status)")
                let w = try await t.json("POST", "/execs/\(id)/stdin", ["b64": .string(Base64Text.encode(Array("{\"a\":1}\n".utf8)))], schema: "StdinResponse")
                try expect(w["ok"]?.bool == true, "stdin write: \(w)")
                _ = try await t.json("POST", "/execs/\(id)/stdin", ["eof": true], schema: "StdinResponse")
                let replay = try await t.attach(id)
                defer { replay.close() }
                let run = try await replay.rest()
                try run.exited(0)
                try expect(run.stdoutText == "{\"a\":1}\n", "replayed stdout \(run.stdoutText.debugDescription)")
            },
            Check("attach.replay", "attach replays the retained events with seq > sinceSeq, byte for byte; past the end, nothing") {
                let id = t.id("replay")
                let live = try await t.run(t.request(id, shell: "printf a; printf b >&2; printf c"))
                try live.exited(0)
                let all = try await t.attach(id, sinceSeq: "0")
                defer { all.close() }
                let replay = try await all.rest()
                try expect(replay.raw == live.raw, "replay from 0 differs from the live stream: \(ExecRun.summary(replay.events)) vs \(ExecRun.summary(live.events))")
                let partial = try await t.attach(id, sinceSeq: "2")
                defer { partial.close() }
                let tail = try await partial.rest()
                try expect(tail.raw == Array(live.raw.dropFirst(2)), "replay after 2: \(ExecRun.summary(tail.events))")
                for since in [String(live.events.count), "18446744073709551615", "99999999999999999999999"] {
                    let past = try await t.attach(id, sinceSeq: since)
                    defer { past.close() }
                    let nothing = try await past.rest()
                    try expect(nothing.events.isEmpty, "attach past the end (sinceSeq=\(since)) of a finished exec: \(ExecRun.summary(nothing.events))")
                }
            },
            Check("attach.errors", "attach: unknown id 404; a sinceSeq that is not a non-negative integer is 400") {
                let unknown = try await t.call("GET", "/execs/\(t.id("never"))/attach?sinceSeq=0")
                try expect(unknown.status == 404, "attach to an unknown id: \(unknown.status)")
                let id = t.id("attach-bad")
                try await t.run(t.request(id, shell: "true")).exited(0)
                for bad in ["-1", "abc", "1.5", "%201"] {
                    let r = try await t.call("GET", "/execs/\(id)/attach?sinceSeq=\(bad)")
                    try expect(r.status == 400, "attach with sinceSeq=\(bad): \(r.status)")
                }
            },
            Check("attach.live", "attach past the last seq of a running exec streams only what comes next") {
                let id = t.id("attach-live")
                let (stream, _) = try await t.started(t.request(id, command: ["cat"], extra: ["stdinMode": "hold"]))
                defer { stream.close() }
                let follower = try await t.attach(id, sinceSeq: "1000")
                defer { follower.close() }
                _ = try await t.json("POST", "/execs/\(id)/stdin", ["b64": .string(Base64Text.encode(Array("{}\n".utf8)))], schema: "StdinResponse")
                _ = try await t.json("POST", "/execs/\(id)/stdin", ["eof": true], schema: "StdinResponse")
                let original = try await stream.rest()
                try original.exited(0)
                let followed = try await follower.rest()
                try expect(!followed.events.isEmpty && followed.events.allSatisfy { ($0["seq"]?.uint ?? 0) > 1 } && followed.last?["t"]?.string == "exit",
                           "attach at 1000 of a running exec: \(ExecRun.summary(followed.events))")
            },
            Check("replay.gap", "the ring holds 256 KiB of encoded events; an attach for older events gets gap {fromSeq, toSeq} first, then the rest in order") {
                let id = t.id("gap")
                let live = try await t.run(t.request(id, shell: "i=0; while [ $i -lt 64 ]; do dd if=/dev/zero bs=16384 count=1 2>/dev/null; i=$((i+1)); done"))
                try live.exited(0)
                try expect(live.stdout.count == 1 << 20, "the exec wrote \(live.stdout.count) bytes, not 1 MiB")
                for since in [0, 3] {
                    let a = try await t.attach(id, sinceSeq: String(since))
                    defer { a.close() }
                    let replay = try await a.rest()
                    let gap = try require(replay.events.first, "attach \(since): no events")
                    try expect(gap["t"]?.string == "gap", "attach \(since) after 1.4 MB of events: the first event is \(gap["t"]?.string ?? "?"), not gap (\(ExecRun.summary(replay.events)))")
                    let from = gap["fromSeq"]?.uint ?? 0
                    let to = gap["toSeq"]?.uint ?? 0
                    try expect(from == UInt64(since) + 1 && to >= from, "gap \(gap) after sinceSeq \(since)")
                    let rest = ExecRun(events: Array(replay.events.dropFirst()), raw: Array(replay.raw.dropFirst()), what: "attach \(since)")
                    try rest.verifyOrder(firstSeq: to + 1)
                    try expect(rest.raw == Array(live.raw.suffix(rest.raw.count)), "the events after the gap differ from the live ones")
                    try expect(Int(to) + rest.raw.count == live.raw.count, "gap to \(to) + \(rest.raw.count) events != \(live.raw.count) live events")
                    let retained = rest.raw.reduce(0) { $0 + $1.count }
                    try expect(retained <= 256 * 1024 || rest.raw.count == 1, "the ring kept \(retained) bytes of events, more than 256 KiB")
                    let dropped = live.raw[Int(to) - 1].count + 1
                    try expect(retained + rest.raw.count + dropped > 256 * 1024, "the ring kept only \(retained) bytes: event \(to) (\(dropped) bytes) would have fit in 256 KiB")
                }
            },
            Check("retention.last-16", "the last 16 finished execs at least are kept for status and attach", timeout: .seconds(120)) {
                var ids: [String] = []
                for i in 0..<16 {
                    let id = t.id("keep-\(i)")
                    try await t.run(t.request(id, shell: "exit \(i)")).exited(Int64(i))
                    ids.append(id)
                }
                for (i, id) in ids.enumerated() {
                    let s = try await t.json("GET", "/execs/\(id)", schema: "ExecStatus")
                    try expect(s["state"]?.string == "exited" && s["exitCode"]?.int == Int64(i), "GET /execs/\(id) (finished \(16 - i) execs ago): \(s)")
                }
                let a = try await t.attach(ids[0])
                defer { a.close() }
                try await a.rest().exited(0)
            },
        ]
    }
}
