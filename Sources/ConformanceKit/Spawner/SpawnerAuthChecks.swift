/// §2 authentication: the HMAC signature and its refusals.
enum SpawnerAuthChecks {
    static func all(_ t: SpawnerTarget) -> [Check] {
        [
            Check("healthz.open", "GET /healthz needs no signature") {
                let r = try await t.call("GET", "/healthz", headers: [])
                _ = try t.expectJSON(r, status: 200, schema: "SpawnerHealth", "GET /healthz")
            },
            Check("metrics.open", "GET /metrics needs no signature and serves Prometheus text") {
                let r = try await t.call("GET", "/metrics", headers: [])
                try expect(r.status == 200 && (r.header("content-type") ?? "").hasPrefix("text/plain"), "GET /metrics: \(r.status) \(r.header("content-type") ?? "")")
            },
            Check("hmac.valid", "a request signed as §2 says is accepted") {
                _ = try await t.json("GET", "/v1/sessions", schema: "SessionList")
                _ = try await t.json("GET", "/v1/sessions?orgId=\(t.org)", schema: "SessionList")
            },
            Check("hmac.missing", "a /v1 request without the signature headers (or with one of them) is 401") {
                let good = await t.signed("GET", "/v1/sessions", body: [])
                for headers in [[], [good[0]], [good[1]]] {
                    let r = try await t.call("GET", "/v1/sessions", headers: headers)
                    try t.expectError(r, [401], "GET /v1/sessions with \(headers.map(\.0))")
                }
            },
            Check("hmac.bad-signature", "a signature by another secret, over another method, path, query or body, or malformed, is 401") {
                let other = RequestSigner(secret: Array("another-secret-of-enough-bytes-for-hmac-\(t.runTag)".utf8))
                let ts = await t.clock.next()
                let cases: [(String, [(String, String)])] = [
                    ("another secret", [("X-Spawner-Timestamp", String(ts)), ("X-Spawner-Signature", other.signature(method: "GET", pathWithQuery: "/v1/sessions", timestampMs: ts, body: []))]),
                    ("another method", await t.signed("POST", "/v1/sessions", body: [])),
                    ("another path", await t.signed("GET", "/v1/sessions/x", body: [])),
                    ("the path without its query", await t.signed("GET", "/v1/sessions", body: [])),
                    ("a body", await t.signed("GET", "/v1/sessions", body: Array("{}".utf8))),
                    ("no v1= prefix", await t.signed("GET", "/v1/sessions", body: []).map { ($0.0, $0.1.hasPrefix("v1=") ? String($0.1.dropFirst(3)) : $0.1) }),
                    ("garbage", [("X-Spawner-Timestamp", String(ts)), ("X-Spawner-Signature", "v1=nothex")]),
                ]
                for (what, headers) in cases {
                    let path = what == "the path without its query" ? "/v1/sessions?orgId=\(t.org)" : "/v1/sessions"
                    let r = try await t.call("GET", path, headers: headers)
                    try t.expectError(r, [401], "GET \(path) signed with \(what)")
                }
            },
            Check("hmac.body-bound", "a POST whose body is not the one signed is 401 and creates nothing") {
                let sid = t.sid("forged")
                let real = JSONWriter.bytes(["sessionId": .string(sid), "owner": ["kind": "user", "id": "mallory"], "orgId": .string(t.org)])
                let headers = await t.signed("POST", "/v1/sessions", body: Array(#"{"owner":{"kind":"user","id":"x"},"orgId":"x"}"#.utf8))
                let r = try await t.call("POST", "/v1/sessions", raw: real, headers: headers)
                try t.expectError(r, [401], "POST /v1/sessions with a body that was not signed")
                let get = try await t.call("GET", "/v1/sessions/\(sid)")
                if get.status != 404 { await t.delete(sid) }
                try expect(get.status == 404, "the refused create made session \(sid): \(get.status)")
            },
            Check("hmac.timestamp-window", "a timestamp more than 5 minutes from the server's clock is 401; within it, accepted") {
                for (what, offset) in [("6 minutes old", Int64(-360_000)), ("6 minutes ahead", Int64(360_000)), ("a day old", Int64(-86_400_000))] {
                    let headers = await t.signed("GET", "/v1/sessions", body: [], offsetMs: offset)
                    let r = try await t.call("GET", "/v1/sessions", headers: headers)
                    try t.expectError(r, [401], "a timestamp \(what)")
                }
                let recent = await t.signed("GET", "/v1/sessions", body: [], offsetMs: -120_000)
                let ok = try await t.call("GET", "/v1/sessions", headers: recent)
                try expect(ok.status == 200, "a timestamp 2 minutes old: \(ok.status)")
                let garbage = [("X-Spawner-Timestamp", "yesterday"), ("X-Spawner-Signature", "v1=" + String(repeating: "0", count: 64))]
                try t.expectError(try await t.call("GET", "/v1/sessions", headers: garbage), [401], "a timestamp that is not a number")
            },
        ]
    }
}
