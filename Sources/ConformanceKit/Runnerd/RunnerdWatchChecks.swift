/// §3 file watch.
enum RunnerdWatchChecks {
    /// A watch stream: its events validated against FsWatchEvent, seq checked as they come.
    final class Watch: @unchecked Sendable {
        let lines: LineStream
        let t: RunnerdTarget
        var seq: UInt64 = 0
        var seen: [JSON] = []

        init(_ t: RunnerdTarget, query: String) async throws {
            self.t = t
            lines = try await t.client.open("GET", t.baseURL + "/fs/watch?" + query, headers: t.auth)
            if lines.status != 200 {
                lines.close()
                throw CheckFailure("GET /fs/watch?\(query): \(lines.status)")
            }
            try expect((lines.header("content-type") ?? "").hasPrefix("application/x-ndjson"), "GET /fs/watch: content-type \(lines.header("content-type") ?? "none")")
        }

        func next() async throws -> JSON {
            guard let line = try await lines.nextLine() else { throw CheckFailure("the watch stream ended; events: \(seen.map(\.description))") }
            let event = try JSONParser.parse(line)
            try t.validate(event, "FsWatchEvent", "a watch event")
            seq += 1
            try expect(event["seq"]?.uint == seq, "watch event seq \(event["seq"]?.description ?? "?") where \(seq) was due")
            seen.append(event)
            return event
        }

        func until(_ what: String, _ condition: (JSON) -> Bool) async throws -> JSON {
            while true {
                let event = try await next()
                if event["t"]?.string == "overflow" { throw CheckSkip("the watch overflowed (events lost) before \(what)") }
                if condition(event) { return event }
            }
        }

        func close() { lines.close() }
    }

    static func all(_ t: RunnerdTarget) -> [Check] {
        let d = t.dir + "/watch"
        return [
            Check("watch.events", "GET /fs/watch: watching first, then a new file (create, or rename into place), rename (with from) and remove with workspace-relative paths", feature: .watch) {
                try await t.stage([("\(d)/w/.keep", [])])
                let w = try await Watch(t, query: "path=\(d)/w")
                defer { w.close() }
                let first = try await w.next()
                try expect(first["t"]?.string == "watching" && first["path"]?.string == "\(d)/w", "the first event: \(first)")
                try await t.stage([("\(d)/w/f.txt", Array("x".utf8))])
                // A stage may write a temporary file and rename it into place: create or rename.
                _ = try await w.until("f.txt appearing") { ["create", "rename"].contains($0["op"]?.string ?? "") && $0["path"]?.string == "\(d)/w/f.txt" && $0["type"]?.string == "file" }
                try await t.sh("watch-mv", "mv \(d)/w/f.txt \(d)/w/g.txt")
                _ = try await w.until("rename f.txt → g.txt") { $0["op"]?.string == "rename" && $0["path"]?.string == "\(d)/w/g.txt" && $0["from"]?.string == "\(d)/w/f.txt" }
                _ = try await t.json("POST", "/files/delete", ["paths": [.string("\(d)/w/g.txt")]], schema: "DeleteResponse")
                _ = try await w.until("remove of g.txt") { $0["op"]?.string == "remove" && $0["path"]?.string == "\(d)/w/g.txt" }
            },
            Check("watch.recursive", "recursive=true reports changes in new subdirectories", feature: .watch) {
                try await t.stage([("\(d)/r/.keep", [])])
                let w = try await Watch(t, query: "path=\(d)/r&recursive=true")
                defer { w.close() }
                _ = try await w.next()
                try await t.sh("watch-deep", "mkdir -p \(d)/r/a/b && printf x > \(d)/r/a/b/deep.txt")
                _ = try await w.until("create of a/b/deep.txt") { $0["t"]?.string == "fs" && $0["path"]?.string == "\(d)/r/a/b/deep.txt" }
            },
            Check("watch.errors", "watch of an unknown path is 404; a path out of the workspace is refused", feature: .watch) {
                let r = try await t.call("GET", "/fs/watch?path=\(d)/missing-\(t.runTag)")
                try expect(r.status == 404, "watch of a missing path: \(r.status)")
                for path in ["..", "/"] {
                    let e = try await t.call("GET", "/fs/watch?path=\(path)")
                    try expect((400..<500).contains(e.status), "watch of \(path): \(e.status)")
                }
            },
        ]
    }
}
