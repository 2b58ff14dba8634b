/// §1 Authentication.
enum RunnerdAuthChecks {
    /// Every authenticated route, with a body where one is needed.
    static func routes(_ t: RunnerdTarget) -> [(String, String, JSON?)] {
        let x = t.id("auth-probe")
        return [
            ("GET", "/healthz", nil), ("GET", "/metrics", nil),
            ("POST", "/execs", t.request(t.id("auth-refused"), shell: "echo should-not-run")),
            ("GET", "/execs/\(x)/attach?sinceSeq=0", nil), ("POST", "/execs/\(x)/cancel", nil),
            ("POST", "/execs/\(x)/stdin", ["eof": true]), ("GET", "/execs/\(x)", nil),
            ("POST", "/env", ["set": ["CF_AUTH": "x"]]), ("POST", "/files/stage", ["files": []]),
            ("POST", "/files/delete", ["paths": []]), ("GET", "/fs/list?path=.", nil), ("GET", "/fs/read?path=x", nil),
        ]
    }

    static func all(_ t: RunnerdTarget) -> [Check] {
        [
            Check("auth.readyz-open", "GET /readyz needs no token and answers 200 {\"ok\":true}") {
                let r = try await t.call("GET", "/readyz", headers: [])
                _ = try t.expectJSON(r, status: 200, schema: "ReadyResponse", "GET /readyz without a token")
            },
            Check("auth.missing-token", "every endpoint but /readyz refuses a request without a token: 401 {\"error\":\"unauthorized\"}") {
                for (method, path, body) in routes(t) {
                    let r = try await t.call(method, path, json: body, headers: [])
                    try t.expectError(r, [401], "\(method) \(path) without a token", error: "unauthorized")
                }
            },
            Check("auth.wrong-token", "a wrong token (Bearer or X-Runnerd-Token, same length or not) is 401 {\"error\":\"unauthorized\"}") {
                var flipped = Array(t.token.utf8)
                flipped[flipped.count - 1] = flipped.last == UInt8(ascii: "a") ? UInt8(ascii: "b") : UInt8(ascii: "a")
                let wrong = String(decoding: flipped, as: UTF8.self)
                let variants: [[(String, String)]] = [
                    [("Authorization", "Bearer \(wrong)")], [("Authorization", "Bearer \(t.token)x")], [("Authorization", "Bearer ")],
                    [("Authorization", "Basic \(t.token)")], [("X-Runnerd-Token", wrong)], [("Authorization", t.token)],
                ]
                for headers in variants {
                    for (method, path, body) in routes(t) {
                        let r = try await t.call(method, path, json: body, headers: headers)
                        try t.expectError(r, [401], "\(method) \(path) with \(headers[0].0): \(headers[0].1.prefix(12))…", error: "unauthorized")
                    }
                }
            },
            Check("auth.x-runnerd-token", "the header X-Runnerd-Token: <token> is accepted like Authorization: Bearer") {
                let r = try await t.call("GET", "/healthz", headers: [("X-Runnerd-Token", t.token)])
                _ = try t.expectJSON(r, status: 200, schema: "HealthResponse", "GET /healthz with X-Runnerd-Token")
                let run = try await t.run(t.request(t.id("xtoken"), shell: "echo via-x-token"))
                try run.exited(0)
            },
            Check("auth.refused-runs-nothing", "a request refused for its token has no effect: the exec was never started") {
                let id = t.id("auth-refused")
                let r = try await t.call("POST", "/execs", json: t.request(id, shell: "echo should-not-run"), headers: [("Authorization", "Bearer nope")])
                try t.expectError(r, [401], "POST /execs with a wrong token")
                let status = try await t.call("GET", "/execs/\(id)")
                try expect(status.status == 404, "GET /execs/\(id) after a refused start: expected 404 (gone), got \(status.status) \(status.text)")
            },
        ]
    }
}
