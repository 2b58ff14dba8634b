/// §1 files: stage, read, list, delete; escapes refused; the inline and read limits.
enum RunnerdFileChecks {
    static func stageBody(_ files: [JSON]) -> JSON { ["files": .array(files)] }
    static func inline(_ path: String, _ bytes: [UInt8]) -> JSON { ["path": .string(path), "contentBase64": .string(Base64Text.encode(bytes))] }

    static func all(_ t: RunnerdTarget) -> [Check] {
        let d = t.dir + "/files"
        return [
            Check("files.roundtrip", "stage, read (octet-stream, exact bytes), list (sorted entries with type and size), delete") {
                let binary = (0..<256).map { UInt8($0) }
                let staged = try await t.json("POST", "/files/stage", stageBody([inline("\(d)/a.txt", Array("hello".utf8)), inline("\(d)/sub/b.bin", binary)]), schema: "StageResponse")
                let sizes = Dictionary(uniqueKeysWithValues: (staged["staged"]?.array ?? []).compactMap { e in e["path"]?.string.map { ($0, e["bytes"]?.int ?? -1) } })
                try expect(sizes == ["\(d)/a.txt": 5, "\(d)/sub/b.bin": 256] && staged["skipped"] == [], "stage: \(staged)")
                let read = try await t.call("GET", "/fs/read?path=\(d)/sub/b.bin")
                try expect(read.status == 200 && read.body == binary, "read: \(read.status), \(read.body.count) bytes")
                try expect((read.header("content-type") ?? "").hasPrefix("application/octet-stream"), "read: content-type \(read.header("content-type") ?? "none")")
                let seen = try await t.sh("files-cat", "cat \(d)/a.txt")
                try expect(seen == "hello", "a child reads \(seen.debugDescription)")
                let list = try await t.json("GET", "/fs/list?path=\(d)", schema: "DirectoryListing")
                let entries = (list["entries"]?.array ?? []).map { "\($0["name"]?.string ?? "?"):\($0["type"]?.string ?? "?")" + ($0["type"]?.string == "file" ? ":\($0["size"]?.int ?? -1)" : "") }
                try expect(entries == ["a.txt:file:5", "sub:dir"], "list \(d): \(entries)")
                let deleted = try await t.json("POST", "/files/delete", ["paths": [.string("\(d)/a.txt"), .string("\(d)/sub")]], schema: "DeleteResponse")
                try expect(Set(deleted["deleted"]?.array?.compactMap(\.string) ?? []) == ["\(d)/a.txt", "\(d)/sub"], "delete: \(deleted)")
                let after = try await t.call("GET", "/fs/read?path=\(d)/a.txt")
                try expect(after.status == 404, "read after delete: \(after.status)")
                let again = try await t.json("POST", "/files/delete", ["paths": [.string("\(d)/a.txt")]], schema: "DeleteResponse")
                try expect(again["deleted"] == [] && again["skipped"]?.array?.count == 1, "delete of a missing path: \(again)")
            },
            Check("files.missing", "/fs/read and /fs/list of a missing path are 404") {
                let r = try await t.call("GET", "/fs/read?path=\(d)/missing-\(t.runTag)")
                try expect(r.status == 404, "read of a missing path: \(r.status)")
                let l = try await t.call("GET", "/fs/list?path=\(d)/missing-\(t.runTag)")
                try expect(l.status == 404, "list of a missing path: \(l.status)")
            },
            Check("files.stage-replaces", "staging a path again replaces the file") {
                try await t.stage([("\(d)/again.txt", Array("first".utf8))])
                try await t.stage([("\(d)/again.txt", Array("2nd".utf8))])
                let r = try await t.call("GET", "/fs/read?path=\(d)/again.txt")
                try expect(r.status == 200 && r.text == "2nd", "read after a second stage: \(r.status) \(r.text.debugDescription)")
            },
            Check("files.escapes", "paths that leave the workspace (.., absolute outside, through a symlink) are refused by stage, read, list, delete") {
                try await t.stage([("\(d)/esc/.keep", [])])
                try await t.sh("files-links", "ln -s / \(d)/esc/out && ln -s ../../../.. \(d)/esc/up")
                let outside = ["../cf-\(t.runTag)", "/cf-\(t.runTag)", "\(d)/esc/out/tmp/cf-\(t.runTag)", "\(d)/esc/up/../cf-\(t.runTag)", "\(d)/../../../cf-\(t.runTag)"]
                let stage = try await t.json("POST", "/files/stage", stageBody(outside.map { inline($0, Array("escape".utf8)) }), schema: "StageResponse")
                try expect(stage["staged"] == [] && stage["skipped"]?.array?.count == outside.count, "stage outside the workspace: \(stage)")
                let leaked = try await t.run(t.request(t.id("files-leak"), shell: "test -e /cf-\(t.runTag) || test -e /tmp/cf-\(t.runTag) && exit 9; exit 0"))
                try expect(leaked.last?["exitCode"]?.int == 0, "a stage outside the workspace created a file")
                for path in ["\(d)/esc/out/etc/passwd", "/etc/passwd", "../../../../../../etc/passwd", "\(d)/esc/up/etc/passwd"] {
                    let r = try await t.call("GET", "/fs/read?path=\(path)")
                    try expect((400..<500).contains(r.status), "read \(path): \(r.status)")
                }
                for path in ["\(d)/esc/out", "..", "/", "\(d)/esc/up"] {
                    let r = try await t.call("GET", "/fs/list?path=\(path)")
                    try expect((400..<500).contains(r.status), "list \(path): \(r.status)")
                }
                let del = try await t.json("POST", "/files/delete", ["paths": [.string("\(d)/esc/out/cf-none-\(t.runTag)"), .string("../cf-none-\(t.runTag)")]], schema: "DeleteResponse")
                try expect(del["deleted"] == [] && del["skipped"]?.array?.count == 2, "delete outside the workspace: \(del)")
            },
            Check("files.stage-sources", "a file needs exactly one of contentBase64 and url; url must be http or https") {
                let both: JSON = ["path": .string("\(d)/both"), "contentBase64": "eA==", "url": "http://127.0.0.1:9/x"]
                let neither: JSON = ["path": .string("\(d)/neither")]
                let scheme: JSON = ["path": .string("\(d)/scheme"), "url": "file:///etc/passwd"]
                let r = try await t.json("POST", "/files/stage", stageBody([both, neither, scheme]), schema: "StageResponse")
                try expect(r["staged"] == [] && r["skipped"]?.array?.count == 3, "stage: \(r)")
            },
            Check("files.inline-limit", "an inline file of 1 MiB is staged; 1 MiB + 1 is skipped") {
                let exact = [UInt8](repeating: 7, count: 1 << 20)
                let r = try await t.json("POST", "/files/stage", stageBody([inline("\(d)/mib", exact), inline("\(d)/mib1", exact + [7])]), schema: "StageResponse")
                try expect(r["staged"] == [["path": .string("\(d)/mib"), "bytes": 1_048_576]], "staged: \(r["staged"]?.description.prefix(200) ?? "")")
                try expect(r["skipped"]?.array?.first?["path"]?.string == "\(d)/mib1", "skipped: \(r["skipped"]?.description.prefix(200) ?? "")")
                let missing = try await t.call("GET", "/fs/read?path=\(d)/mib1")
                try expect(missing.status == 404, "the skipped file exists: \(missing.status)")
            },
            Check("files.read-limit", "a file of 20 MiB is read whole; 20 MiB + 1 is refused") {
                try await t.stage([("\(d)/big/.keep", [])])
                try await t.sh("files-big", "dd if=/dev/zero of=\(d)/big/20 bs=1048576 count=20 2>/dev/null && cp \(d)/big/20 \(d)/big/21 && printf x >> \(d)/big/21")
                let r = try await t.call("GET", "/fs/read?path=\(d)/big/20")
                try expect(r.status == 200 && r.body.count == 20 << 20, "read of 20 MiB: \(r.status), \(r.body.count) bytes")
                let over = try await t.call("GET", "/fs/read?path=\(d)/big/21")
                try expect((400..<500).contains(over.status), "read of 20 MiB + 1: \(over.status)")
                _ = try await t.call("POST", "/files/delete", json: ["paths": [.string("\(d)/big")]])
            },
        ]
    }
}
