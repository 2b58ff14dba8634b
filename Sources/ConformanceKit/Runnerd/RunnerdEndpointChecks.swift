/// §1 probes, metrics, routes, malformed bodies, body limit, ids and §3 bounds.
enum RunnerdEndpointChecks {
    static func all(_ t: RunnerdTarget) -> [Check] {
        [
            Check("healthz.shape", "GET /healthz answers {ok, bootedAtMs, lastActivityAtMs, liveExecs, version}") {
                let h = try await t.json("GET", "/healthz", schema: "HealthResponse")
                try expect(h["ok"]?.bool == true, "GET /healthz: ok is not true: \(h)")
                try expect((h["lastActivityAtMs"]?.int ?? 0) >= (h["bootedAtMs"]?.int ?? 0), "GET /healthz: lastActivityAtMs before bootedAtMs: \(h)")
            },
            Check("healthz.live-execs", "liveExecs counts running execs") {
                let id = t.id("live-count")
                let (stream, _) = try await t.started(t.request(id, command: ["cat"], extra: ["stdinMode": "hold"]))
                defer { stream.close() }
                let h = try await t.json("GET", "/healthz", schema: "HealthResponse")
                try expect((h["liveExecs"]?.int ?? 0) >= 1, "GET /healthz while an exec runs: liveExecs \(h["liveExecs"]?.description ?? "?")")
                await t.finish(id)
                _ = try await stream.rest()
            },
            Check("activity.probes-do-not-count", "/readyz, /healthz and /metrics leave lastActivityAtMs alone; any other request moves it") {
                let before = try await t.json("GET", "/healthz", schema: "HealthResponse")["lastActivityAtMs"]?.int
                try await Task.sleep(for: .milliseconds(20))
                _ = try await t.call("GET", "/readyz", headers: [])
                _ = try await t.call("GET", "/metrics")
                let after = try await t.json("GET", "/healthz", schema: "HealthResponse")["lastActivityAtMs"]?.int
                try expect(before == after, "probes moved lastActivityAtMs from \(before ?? -1) to \(after ?? -1)")
                let moved = try await eventually(.seconds(5)) {
                    try await Task.sleep(for: .milliseconds(5))
                    _ = try await t.call("GET", "/fs/list?path=.")
                    let now = try await t.json("GET", "/healthz", schema: "HealthResponse")["lastActivityAtMs"]?.int ?? 0
                    return now > (before ?? 0)
                }
                try expect(moved, "GET /fs/list did not move lastActivityAtMs")
            },
            Check("metrics.exposition", "GET /metrics serves Prometheus text (token required)") {
                let r = try await t.call("GET", "/metrics")
                try expect(r.status == 200, "GET /metrics: \(r.status)")
                try expect((r.header("content-type") ?? "").hasPrefix("text/plain"), "GET /metrics: content-type \(r.header("content-type") ?? "none")")
                var samples = 0
                for line in r.text.split(separator: "\n") where !line.hasPrefix("#") {
                    guard let space = line.lastIndex(of: " ") else { throw CheckFailure("GET /metrics: not a sample line: \(line)") }
                    let value = line[line.index(after: space)...]
                    let valid = Double(value) != nil || ["+Inf", "-Inf", "NaN"].contains(value)
                    let name = line.prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" }
                    try expect(valid && !name.isEmpty && !(name.first!.isNumber), "GET /metrics: not a sample line: \(line)")
                    samples += 1
                }
                try expect(samples > 0, "GET /metrics: no samples")
            },
            Check("routes.unknown", "an unknown route is 404") {
                let r = try await t.call("GET", "/no-such-route-\(t.runTag)")
                try expect(r.status == 404, "GET /no-such-route: \(r.status)")
                let r2 = try await t.call("POST", "/execs/\(t.id("x"))/no-such-action")
                try expect(r2.status == 404, "POST /execs/ID/no-such-action: \(r2.status)")
            },
            Check("request.malformed-json", "a body that is not JSON is 400 {\"error\":\"bad_request\",\"message\":…}") {
                for path in ["/execs", "/env", "/files/stage", "/files/delete"] {
                    let r = try await t.call("POST", path, raw: Array("{not json".utf8))
                    try t.expectError(r, [400], "POST \(path) with a body that is not JSON", error: "bad_request")
                    try expect(try r.json(path)["message"]?.string != nil, "POST \(path): 400 without a message")
                }
            },
            Check("request.body-limit", "a request body of exactly 4 MiB is read; one byte more is 413") {
                let base = Array(#"{"files":[]}"#.utf8)
                let exact = base + Array(repeating: UInt8(ascii: " "), count: 4 * 1024 * 1024 - base.count)
                let ok = try await t.call("POST", "/files/stage", raw: exact)
                let answer = try t.expectJSON(ok, status: 200, schema: "StageResponse", "POST /files/stage with a body of 4 MiB")
                try expect(answer["staged"]?.array?.isEmpty == true, "POST /files/stage (4 MiB of nothing): \(answer)")
                let status: Int
                do {
                    status = try await RawExchange.status(baseURL: t.baseURL, method: "POST", path: "/files/stage", headers: t.auth, body: exact + [UInt8(ascii: " ")])
                } catch {
                    throw CheckFailure("POST /files/stage with 4 MiB + 1 byte: \(error)")
                }
                try expect(status == 413, "POST /files/stage with 4 MiB + 1 byte: expected 413, got \(status)")
            },
            Check("ids.exec-id", "execId is [A-Za-z0-9_-]{1,64}: 64 characters run, 65, a space, a slash or nothing are BAD_REQUEST") {
                let long = "cf-" + String(repeating: "x", count: 61 - t.runTag.count) + t.runTag
                try expect(long.count == 64, "internal: id length")
                try await t.run(t.request(long, shell: "exit 0")).exited(0)
                for bad in [long + "y", "cf \(t.runTag)", "cf/\(t.runTag)", "", "cf.\(t.runTag)"] {
                    try await t.expectRefused(t.request(bad, shell: "echo nope"), code: "BAD_REQUEST", "execId \(bad.debugDescription)")
                }
            },
            Check("exec.command-xor-shell", "exactly one of command and shell: both or neither is BAD_REQUEST") {
                try await t.expectRefused(t.request(t.id("both"), shell: "true", command: ["true"]), code: "BAD_REQUEST", "command and shell")
                try await t.expectRefused(t.request(t.id("neither")), code: "BAD_REQUEST", "neither command nor shell")
            },
            Check("exec.required-fields", "timeoutMs, stdoutMaxBytes and stderrMaxBytes are required") {
                for field in ["timeoutMs", "stdoutMaxBytes", "stderrMaxBytes"] {
                    guard case .object(var fields) = t.request(t.id("no-\(field.lowercased())"), shell: "echo nope") else { continue }
                    fields[field] = nil
                    try await t.expectRefused(.object(fields), code: "BAD_REQUEST", "ExecRequest without \(field)")
                }
            },
            Check("bounds.out-of-range", "§3: a number out of range is 400 before anything starts") {
                let cases: [(String, JSON)] = [
                    ("timeoutMs -1", t.request(t.id("b1"), shell: "echo nope", timeoutMs: -1)),
                    ("timeoutMs 30 days + 1", t.request(t.id("b2"), shell: "echo nope", timeoutMs: 2_592_000_001)),
                    ("stdoutMaxBytes -1", t.request(t.id("b3"), shell: "echo nope", stdoutMax: -1)),
                    ("stderrMaxBytes -1", t.request(t.id("b4"), shell: "echo nope", stderrMax: -1)),
                    ("timeoutMs 1e308", t.request(t.id("b6"), shell: "echo nope", extra: ["timeoutMs": .number(JSONNumber(text: "1e308"))])),
                ]
                for (what, request) in cases {
                    let r = try await t.call("POST", "/execs", json: request)
                    try t.expectError(r, [400], "POST /execs with \(what)", error: "bad_request")
                    let id = request["execId"]?.string ?? ""
                    let status = try await t.call("GET", "/execs/\(id)")
                    try expect(status.status == 404, "\(what): the exec exists after a 400 (GET /execs/\(id): \(status.status))")
                }
            },
        ]
    }
}
