/// §2 sessions: create, get, list, delete, ids, conflicts, bounds, unknown sessions.
enum SpawnerSessionChecks {
    static func all(_ t: SpawnerTarget) -> [Check] {
        [
            Check("sessions.lifecycle", "create 201 SessionInfo (ready); get; list (and ?orgId=); delete 204, idempotent; then 404", timeout: .seconds(180)) {
                let sid = t.sid("life")
                let info = try await t.create(sid, owner: "cf-owner")
                defer { Task { await t.delete(sid) } }
                try expect(info["sessionId"]?.string == sid && info["orgId"]?.string == t.org && info["owner"] == ["kind": "user", "id": "cf-owner"], "create: \(info)")
                try expect(!(info["backend"]?.string ?? "").isEmpty, "create: no backend: \(info)")
                try expect((info["expiresAtMs"]?.int ?? 0) > (info["createdAtMs"]?.int ?? 0), "create: expiresAtMs not after createdAtMs: \(info)")
                let got = try await t.json("GET", "/v1/sessions/\(sid)", schema: "SessionInfo")
                try expect(got["sessionId"]?.string == sid && got["createdAtMs"] == info["createdAtMs"], "get: \(got)")
                let all = try await t.json("GET", "/v1/sessions", schema: "SessionList")
                try expect(all["sessions"]?.array?.contains { $0["sessionId"]?.string == sid } == true, "list does not have \(sid)")
                let mine = try await t.json("GET", "/v1/sessions?orgId=\(t.org)", schema: "SessionList")
                try expect(mine["sessions"]?.array?.allSatisfy { $0["orgId"]?.string == t.org } == true && mine["sessions"]?.array?.contains { $0["sessionId"]?.string == sid } == true, "list ?orgId=: \(mine)")
                let other = try await t.json("GET", "/v1/sessions?orgId=\(t.org)-other", schema: "SessionList")
                try expect(other["sessions"] == [], "list ?orgId= of an org without sessions: \(other)")
                for round in 1...2 {
                    let d = try await t.call("DELETE", "/v1/sessions/\(sid)")
                    try expect(d.status == 204, "delete (\(round)): \(d.status)")
                }
                let gone = try await t.call("GET", "/v1/sessions/\(sid)")
                try t.expectError(gone, [404], "get after delete")
            },
            Check("sessions.conflict", "a create with a taken session id is 409") {
                try await withSession(t, "taken") { sid in
                    let r = try await t.call("POST", "/v1/sessions", json: ["sessionId": .string(sid), "owner": ["kind": "user", "id": "alice"], "orgId": .string(t.org)])
                    try t.expectError(r, [409], "a second create of \(sid)")
                }
            },
            Check("sessions.generated-id", "a create without sessionId gets an id of [a-z0-9-]{1,63}") {
                let info = try await t.create(nil)
                let sid = try require(info["sessionId"]?.string, "no sessionId")
                await t.delete(sid)
            },
            Check("sessions.bad-requests", "a bad id, ttlMs/idleTimeoutMs out of range, a missing owner or orgId, malformed JSON: 400 and nothing made") {
                let owner: JSON = ["kind": "user", "id": "alice"]
                let cases: [(String, JSON)] = [
                    ("sessionId with capitals", ["sessionId": "CF-Bad", "owner": owner, "orgId": .string(t.org)]),
                    ("sessionId with _", ["sessionId": .string("cf_\(t.runTag)"), "owner": owner, "orgId": .string(t.org)]),
                    ("sessionId of 64", ["sessionId": .string(String(repeating: "a", count: 64)), "owner": owner, "orgId": .string(t.org)]),
                    ("ttlMs 0", ["sessionId": .string(t.sid("b1")), "owner": owner, "orgId": .string(t.org), "ttlMs": 0]),
                    ("ttlMs 30 days + 1", ["sessionId": .string(t.sid("b2")), "owner": owner, "orgId": .string(t.org), "ttlMs": 2_592_000_001]),
                    ("idleTimeoutMs 30 days + 1", ["sessionId": .string(t.sid("b3")), "owner": owner, "orgId": .string(t.org), "idleTimeoutMs": 2_592_000_001]),
                    ("idleTimeoutMs -1", ["sessionId": .string(t.sid("b4")), "owner": owner, "orgId": .string(t.org), "idleTimeoutMs": -1]),
                    ("no owner", ["sessionId": .string(t.sid("b5")), "orgId": .string(t.org)]),
                    ("no orgId", ["sessionId": .string(t.sid("b6")), "owner": owner]),
                ]
                for (what, body) in cases {
                    let r = try await t.call("POST", "/v1/sessions", json: body)
                    try t.expectError(r, [400], "create with \(what)")
                }
                let malformed = try await t.call("POST", "/v1/sessions", raw: Array("{nope".utf8))
                try t.expectError(malformed, [400], "create with a body that is not JSON")
                let left = try await t.json("GET", "/v1/sessions?orgId=\(t.org)", schema: "SessionList")
                try expect(left["sessions"]?.array?.contains { ($0["sessionId"]?.string ?? "").hasPrefix(t.sid("b")) } != true, "a refused create left a session: \(left)")
            },
            Check("sessions.unknown", "every session route of an unknown session is 404") {
                let sid = t.sid("never")
                let routes: [(String, String, JSON?)] = [
                    ("GET", "/v1/sessions/\(sid)", nil), ("POST", "/v1/sessions/\(sid)/exec", t.request("x", shell: "true")),
                    ("GET", "/v1/sessions/\(sid)/execs/x/attach", nil), ("POST", "/v1/sessions/\(sid)/execs/x/cancel", nil),
                    ("GET", "/v1/sessions/\(sid)/execs/x", nil), ("POST", "/v1/sessions/\(sid)/env", ["set": ["A": "b"]]),
                    ("GET", "/v1/sessions/\(sid)/fs/list?path=.", nil),
                ]
                for (method, path, body) in routes {
                    let r = try await t.call(method, path, json: body)
                    try t.expectError(r, [404], "\(method) \(path)")
                }
            },
        ]
    }
}
