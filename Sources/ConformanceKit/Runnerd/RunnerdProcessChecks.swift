/// §3 processes.
enum RunnerdProcessChecks {
    static func all(_ t: RunnerdTarget) -> [Check] {
        [
            Check("processes.list", "GET /processes lists an exec's process with execId; it leads its own group and session", feature: .processes) {
                let id = t.id("ps")
                let (stream, start) = try await t.started(t.request(id, command: ["sleep", "61"]))
                defer { stream.close() }
                let pid = try require(start["pid"]?.int, "start without pid")
                let list = try await t.json("GET", "/processes", schema: "ProcessList")
                let entry = try require(list["processes"]?.array?.first { $0["pid"]?.int == pid }, "GET /processes does not list the exec's pid \(pid)")
                _ = try? await t.call("POST", "/execs/\(id)/cancel")
                try expect(entry["execId"]?.string == id, "the entry's execId: \(entry)")
                try expect(entry["pgid"]?.int == pid && entry["sid"]?.int == pid, "the exec is not its own group and session: \(entry)")
                try expect(entry["command"]?.array?.contains { $0.string?.hasSuffix("sleep") == true || $0.string == "61" } == true, "command: \(entry)")
                _ = try await stream.rest()
            },
            Check("processes.signal", "POST /processes/{pid}/signal signals an agent process; not an agent process is 404; a bad signal 400", feature: .processes) {
                let id = t.id("ps-sig")
                let (stream, start) = try await t.started(t.request(id, command: ["sleep", "62"]))
                defer { stream.close() }
                let pid = try require(start["pid"]?.int, "start without pid")
                let bad = try await t.call("POST", "/processes/\(pid)/signal", json: ["signal": "BOGUS"])
                if bad.status != 400 { _ = try? await t.call("POST", "/execs/\(id)/cancel") }
                try t.expectError(bad, [400], "signal BOGUS to \(pid)")
                let s = try await t.json("POST", "/processes/\(pid)/signal", ["signal": "TERM"], schema: "SignalResponse")
                try expect(s["signaled"]?.bool == true, "signal TERM to \(pid): \(s)")
                try await stream.rest().exited(143)
                for other in ["1", "2147483647"] {
                    let r = try await t.call("POST", "/processes/\(other)/signal", json: ["signal": "CONT"])
                    try expect(r.status == 404, "signal to pid \(other) (not an agent process): \(r.status)")
                }
            },
        ]
    }
}
