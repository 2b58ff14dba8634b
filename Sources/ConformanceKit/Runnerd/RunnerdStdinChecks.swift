/// §1 stdin: close mode, hold mode with one JSON line per write, eof, the refusals and the
/// 64 KiB write limit.
enum RunnerdStdinChecks {
    static func write(_ t: RunnerdTarget, _ id: String, _ text: String) async throws -> JSON {
        try await write(t, id, Array(text.utf8))
    }

    static func write(_ t: RunnerdTarget, _ id: String, _ bytes: [UInt8]) async throws -> JSON {
        try await t.json("POST", "/execs/\(id)/stdin", ["b64": .string(Base64Text.encode(bytes))], schema: "StdinResponse")
    }

    static func held(_ t: RunnerdTarget, _ name: String, _ command: [String] = ["cat"]) async throws -> (String, EventStream) {
        let id = t.id(name)
        let (stream, _) = try await t.started(t.request(id, command: command, extra: ["stdinMode": "hold"]))
        return (id, stream)
    }

    static func all(_ t: RunnerdTarget) -> [Check] {
        [
            Check("stdin.close-mode", "stdinMode close (the default) writes stdinBase64 and closes stdin") {
                let run = try await t.run(t.request(t.id("stdin-close"), command: ["cat"], extra: ["stdinBase64": .string(Base64Text.encode(Array("hello\nworld".utf8)))]))
                try run.exited(0)
                try expect(run.stdoutText == "hello\nworld", "cat read \(run.stdoutText.debugDescription)")
                let empty = try await t.run(t.request(t.id("stdin-close-empty"), command: ["cat"], extra: ["stdinMode": "close"]))
                try empty.exited(0)
                try expect(empty.stdout.isEmpty, "cat with closed stdin wrote \(empty.stdoutText.debugDescription)")
            },
            Check("stdin.hold", "stdinMode hold keeps stdin open: each write of one JSON line is {\"ok\":true}; eof closes it") {
                let (id, stream) = try await held(t, "stdin-hold")
                defer { stream.close() }
                for line in ["{\"a\":1}\n", "[1,2]\n", "\"text\"\n"] {
                    let r = try await write(t, id, line)
                    try expect(r["ok"]?.bool == true, "write of \(line.debugDescription): \(r)")
                }
                try await stream.untilOutput("\"text\"\n")
                let e = try await t.json("POST", "/execs/\(id)/stdin", ["eof": true], schema: "StdinResponse")
                try expect(e["ok"]?.bool == true, "eof: \(e)")
                let run = try await stream.rest()
                try run.exited(0)
                try expect(run.stdoutText == "{\"a\":1}\n[1,2]\n\"text\"\n", "cat echoed \(run.stdoutText.debugDescription)")
            },
            Check("stdin.bad-line", "in hold mode a write that is not one complete JSON line is BAD_LINE and nothing is written") {
                let (id, stream) = try await held(t, "stdin-badline")
                defer { stream.close() }
                for bad in ["not json\n", "{\"a\":1}", "{}\n{}\n", "{\"a\":\n1}\n", "\n"] {
                    let r = try await write(t, id, bad)
                    try expect(r["ok"]?.bool == false && r["reason"]?.string == "BAD_LINE", "write of \(bad.debugDescription): \(r)")
                }
                _ = try await t.json("POST", "/execs/\(id)/stdin", ["eof": true], schema: "StdinResponse")
                let run = try await stream.rest()
                try run.exited(0)
                try expect(run.stdout.isEmpty, "refused lines reached the process: \(run.stdoutText.debugDescription)")
            },
            Check("stdin.refusals", "writes after eof or to a closed stdin are STDIN_CLOSED; to an unknown exec NOT_FOUND") {
                let (id, stream) = try await held(t, "stdin-closed")
                defer { stream.close() }
                _ = try await t.json("POST", "/execs/\(id)/stdin", ["eof": true], schema: "StdinResponse")
                try await stream.rest().exited(0)
                let closedId = t.id("stdin-closed-mode")
                let (sleeper, _) = try await t.started(t.request(closedId, command: ["sleep", "60"]))
                defer { sleeper.close() }
                let r2 = try await write(t, closedId, "{}\n")
                _ = try? await t.call("POST", "/execs/\(closedId)/cancel")
                try expect(r2["ok"]?.bool == false && r2["reason"]?.string == "STDIN_CLOSED", "write to a close-mode exec: \(r2)")
                let r1 = try await write(t, id, "{}\n")
                try expect(r1["ok"]?.bool == false && ["STDIN_CLOSED", "NOT_FOUND"].contains(r1["reason"]?.string ?? ""), "write after eof: \(r1)")
                let r3 = try await t.call("POST", "/execs/\(t.id("never"))/stdin", json: ["b64": .string(Base64Text.encode(Array("{}\n".utf8)))])
                let body = try t.expectJSON(r3, status: r3.status, schema: "StdinResponse", "write to an unknown exec")
                try expect([200, 404].contains(r3.status) && body["ok"]?.bool == false && body["reason"]?.string == "NOT_FOUND", "write to an unknown exec: \(r3.status) \(body)")
            },
            Check("stdin.write-limit", "one stdin write of 64 KiB is taken; 64 KiB + 1 is refused and writes nothing") {
                let (id, stream) = try await held(t, "stdin-64k", ["wc", "-c"])
                defer { stream.close() }
                let line = Array("\"".utf8) + Array(repeating: UInt8(ascii: "a"), count: 65536 - 3) + Array("\"\n".utf8)
                try expect(line.count == 65536, "internal: line length")
                let ok = try await write(t, id, line)
                try expect(ok["ok"]?.bool == true, "a write of exactly 64 KiB: \(ok)")
                let over = Array("\"".utf8) + Array(repeating: UInt8(ascii: "b"), count: 65536 - 2) + Array("\"\n".utf8)
                let r = try await t.call("POST", "/execs/\(id)/stdin", json: ["b64": .string(Base64Text.encode(over))])
                if r.status == 200 {
                    let body = try t.expectJSON(r, status: 200, schema: "StdinResponse", "a write of 64 KiB + 1")
                    try expect(body["ok"]?.bool == false, "a write of 64 KiB + 1 was accepted: \(body)")
                } else {
                    try expect((400..<500).contains(r.status), "a write of 64 KiB + 1: \(r.status)")
                }
                _ = try await t.json("POST", "/execs/\(id)/stdin", ["eof": true], schema: "StdinResponse")
                let run = try await stream.rest()
                try run.exited(0)
                try expect(run.stdoutText.trimmingCharacters() == "65536", "wc -c counted \(run.stdoutText.trimmingCharacters()) bytes, not 65536")
            },
        ]
    }
}
