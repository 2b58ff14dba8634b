import Foundation
import RunnerProtocol
import SpawnerClient
import SpawnerCore
import Testing
import TestSupport

/// Every route of the spawner driven with generated input (`FuzzInput`): bodies, path
/// parameters, queries, headers and methods at the extremes, signed right so that most cases
/// reach the handlers (and runnerd behind them). The only answers allowed are 2xx and 4xx, and
/// the spawner must be alive and working afterwards.
///
/// Seeded and reproducible: `SPAWNER_FUZZ_SEED` picks the seed (printed with every failure),
/// `SPAWNER_FUZZ_CASES` the number of cases.
@Suite("fuzz: every spawner route with generated input", .timeLimit(.minutes(10)))
struct SpawnerFuzzTests {
    static let seed = ProcessInfo.processInfo.environment["SPAWNER_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0x5EED_5A3E
    static let cases = ProcessInfo.processInfo.environment["SPAWNER_FUZZ_CASES"].flatMap { Int($0) } ?? 3000

    /// A route registered without a line in `SpawnerFuzzRoutes.all` is never fuzzed: add one.
    @Test func everyRegisteredRouteIsFuzzed() async throws {
        let registered = try await registeredRoutes()
        let fuzzed = Set(SpawnerFuzzRoutes.all.map(\.name))
        #expect(registered.subtracting(fuzzed).isEmpty, "registered but not fuzzed (add them to SpawnerFuzzRoutes.all): \(registered.subtracting(fuzzed).sorted())")
        #expect(fuzzed.subtracting(registered).isEmpty, "fuzzed but not registered: \(fuzzed.subtracting(registered).sorted())")
    }

    @Test func everyRouteAnswers2xxOr4xxAndTheSpawnerSurvives() async throws {
        try await withSpawner(environment: ["SPAWNER_MAX_SESSIONS": "4", "SPAWNER_SWEEP_INTERVAL_MS": "200"]) { (spawner: SpawnerProcess) async throws in
            let client = spawner.client
            _ = try await client.create(SpawnerFuzzRoutes.fixture, idleTimeoutMs: 0)
            // Things for the routes to meet: a file, a directory, a finished exec.
            #expect(try await client.runShell(SpawnerFuzzRoutes.fixture, "fz0", "mkdir -p dir/sub; echo hi > f.txt").exit?.exitCode == 0)

            let port = spawner.port
            let secret = spawner.secret
            let pid = spawner.pid
            let report = try await blocking { SpawnerFuzzRoutes.run(port: port, secret: secret, spawnerPid: pid, seed: Self.seed, cases: Self.cases) }
            for failure in report.failures { Issue.record(Comment(rawValue: failure)) }
            print("spawner fuzz (seed \(Self.seed), \(Self.cases) cases): \(report.statuses.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: ", "))")
            print("spawner fuzz time by route: \(report.time.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))")

            // Alive and working: it answers, its fixture session runs a command, and the
            // request metrics carry route patterns only. (Terminals the fuzz opened keep
            // running for a re-attach, by design: they are cancelled first.)
            #expect(kill(spawner.pid, 0) == 0, "the spawner died")
            for exec in Set(try await client.processes(SpawnerFuzzRoutes.fixture).processes.compactMap(\.execId)) {
                _ = try? await client.cancel(SpawnerFuzzRoutes.fixture, exec)
            }
            #expect(try await spawner.openGET("/healthz").status == 200)
            #expect(try await client.runShell(SpawnerFuzzRoutes.fixture, "after-fuzz", "echo alive").stdoutText == "alive\n")
            let metrics = try await spawner.openGET("/metrics").body
            // Unmatched paths are `NotFound` (Hummingbird's) or `unmatched`.
            let patterns = Set(SpawnerFuzzRoutes.all.map { String($0.name.split(separator: " ")[1]) } + ["unmatched", "NotFound"])
            let labels = Set(SpawnerFuzzRoutes.labels("route", in: metrics))
            #expect(labels.isSubset(of: patterns), "per-value route series: \(labels.subtracting(patterns).sorted())")
            let methods = Set(SpawnerFuzzRoutes.labels("method", in: metrics))
            #expect(methods.isSubset(of: ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE", "other"]), "\(methods)")
            // Every route was reached.
            let reached = Set(report.statuses.keys.map { String($0[..<$0.lastIndex(of: " ")!]) })
            #expect(reached == Set(SpawnerFuzzRoutes.all.map(\.name)), "never reached: \(Set(SpawnerFuzzRoutes.all.map(\.name)).subtracting(reached))")
        }
    }
}

/// One route of the spawner and how to generate requests for it.
struct SpawnerFuzzRoute: Sendable {
    /// `METHOD /pattern`, as the router prints it.
    let name: String
    var method: String { String(name.split(separator: " ")[0]) }
    var pattern: String { String(name.split(separator: " ")[1]) }
    /// The query string, `?…` or nothing.
    var query: (@Sendable (inout FuzzInput) -> [UInt8])?
    var body: (@Sendable (inout FuzzInput) -> [UInt8])?
    /// Answers a stream that lasts (an exec, a watch): only its first chunk is read.
    var liveStream = false
    /// May be aimed at the fixture session (not: deleting a session).
    var fixture = true
    /// Under `/v1`: signed.
    var signed: Bool { pattern.hasPrefix("/v1/") }

    init(
        _ name: String, query: (@Sendable (inout FuzzInput) -> [UInt8])? = nil, body: (@Sendable (inout FuzzInput) -> [UInt8])? = nil,
        liveStream: Bool = false, fixture: Bool = true
    ) {
        self.name = name
        self.query = query
        self.body = body
        self.liveStream = liveStream
        self.fixture = fixture
    }
}

enum SpawnerFuzzRoutes {
    /// The session most cases are aimed at.
    static let fixture = "fuzz"

    /// Every route of the spawner. A new route needs a line here (`everyRegisteredRouteIsFuzzed`).
    static let all: [SpawnerFuzzRoute] = [
        SpawnerFuzzRoute("GET /healthz"),
        SpawnerFuzzRoute("GET /metrics"),
        SpawnerFuzzRoute("POST /v1/sessions", body: { $0.createSessionRequest() }),
        SpawnerFuzzRoute("GET /v1/sessions", query: { $0.query("orgId", $0.chance(0.5) ? "org-a" : $0.text(maxPieces: 4)) }),
        SpawnerFuzzRoute("GET /v1/foreign-sandboxes"),
        SpawnerFuzzRoute("GET /v1/sessions/{sid}"),
        SpawnerFuzzRoute("DELETE /v1/sessions/{sid}", fixture: false),
        SpawnerFuzzRoute("POST /v1/sessions/{sid}/exec", body: { $0.execRequest() }, liveStream: true),
        SpawnerFuzzRoute("GET /v1/sessions/{sid}/execs/{eid}/attach", query: { $0.query("sinceSeq", $0.sequenceNumber()) }, liveStream: true),
        SpawnerFuzzRoute("POST /v1/sessions/{sid}/execs/{eid}/cancel", body: { _ in Array("{}".utf8) }),
        SpawnerFuzzRoute("POST /v1/sessions/{sid}/execs/{eid}/stdin", body: { $0.stdinRequest() }),
        SpawnerFuzzRoute("GET /v1/sessions/{sid}/execs/{eid}"),
        SpawnerFuzzRoute("POST /v1/sessions/{sid}/execs/{eid}/resize", body: { $0.terminalSize() }),
        SpawnerFuzzRoute("POST /v1/sessions/{sid}/execs/{eid}/signal", body: { $0.signalRequest(anySignal: true) }),
        SpawnerFuzzRoute("POST /v1/sessions/{sid}/env", body: { $0.envPatch() }),
        SpawnerFuzzRoute("POST /v1/sessions/{sid}/files/stage", body: { $0.stageRequest() }),
        SpawnerFuzzRoute("POST /v1/sessions/{sid}/files/delete", body: { $0.deleteRequest() }),
        SpawnerFuzzRoute("GET /v1/sessions/{sid}/fs/list", query: { $0.query("path", $0.workspacePath()) }),
        SpawnerFuzzRoute("GET /v1/sessions/{sid}/fs/read", query: { $0.query("path", $0.workspacePath()) }),
        SpawnerFuzzRoute(
            "GET /v1/sessions/{sid}/fs/watch",
            query: { $0.query("path", $0.workspacePath()) + $0.query("recursive", $0.pick(["true", "false", "1", "", "yes"])).dropFirst().withAmpersand() },
            liveStream: true),
        SpawnerFuzzRoute("GET /v1/sessions/{sid}/processes"),
        // Only harmless signals: a pid that runnerd wrongly took for an agent's must not take
        // down a process of the machine running the test.
        SpawnerFuzzRoute("POST /v1/sessions/{sid}/processes/{pid}/signal", body: { $0.signalRequest(anySignal: false) }),
        // Mostly the plain GET (the reasons it would not upgrade); sometimes a real upgrade.
        SpawnerFuzzRoute("GET /v1/sessions/{sid}/terminal", query: { $0.terminalQuery() }, liveStream: true),
        SpawnerFuzzRoute("GET /ui/terminal", query: { $0.query("session", $0.text(maxPieces: 3)) }),
        SpawnerFuzzRoute("GET /ui/xterm.js"),
        SpawnerFuzzRoute("GET /ui/xterm.css"),
    ]

    static let otherMethods = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "FUZZ", "PROPFIND", "get"]

    struct Report: Sendable {
        var statuses: [String: Int] = [:]
        var failures: [String] = []
        var time: [String: Duration] = [:]
    }

    /// `cases` requests over one kept-alive connection at a time (a new one after each close).
    static func run(port: Int, secret: String, spawnerPid: Int32, seed: UInt64, cases: Int) -> Report {
        var input = FuzzInput(seed: seed)
        let signer = HMACSigner(secret: Array(secret.utf8))
        let wire = WireHTTP(port: port)
        var report = Report()
        for index in 0..<cases {
            let route = input.pick(all)
            let request = self.request(route, signer: signer, &input)
            let began = ContinuousClock.now
            defer { report.time[route.name, default: .zero] += ContinuousClock.now - began }
            do {
                let answer = try wire.exchange(request, firstChunkOnly: route.liveStream)
                report.statuses["\(route.name) \(answer.status)", default: 0] += 1
                // 101: the terminal's WebSocket upgrade, a legitimate answer of that route.
                let upgrade = answer.status == 101 && route.pattern.hasSuffix("/terminal")
                if !(200..<500).contains(answer.status) && !upgrade {
                    report.failures.append("""
                        case \(index) (seed \(seed)): \(route.name) answered \(answer.status): \
                        \(String(decoding: answer.body.prefix(300), as: UTF8.self))
                        request: \(describe(request))
                        """)
                }
            } catch {
                report.failures.append("""
                    case \(index) (seed \(seed)): \(route.name): \(error)
                    request: \(describe(request))
                    spawner alive: \(kill(spawnerPid, 0) == 0)
                    """)
                if kill(spawnerPid, 0) != 0 { break }
            }
            if report.failures.count >= 10 { break }
        }
        wire.hangUp()
        return report
    }

    /// A request for `route`: mostly its own method, signed right, with generated parameters
    /// and body; every part sometimes replaced by something hostile.
    static func request(_ route: SpawnerFuzzRoute, signer: HMACSigner, _ input: inout FuzzInput) -> [UInt8] {
        // A request aimed at the fixture never becomes a DELETE: `DELETE /v1/sessions/fuzz` is a
        // real route, and a correctly signed one would end the fixture the fuzzing runs against.
        let method = input.chance(0.04) ? input.pick(route.fixture ? otherMethods.filter { $0 != "DELETE" } : otherMethods) : route.method
        var target: [UInt8] = []
        for segment in route.pattern.split(separator: "/", omittingEmptySubsequences: false).dropFirst() {
            target += Array("/".utf8)
            switch segment {
            case "{sid}": target += input.urlPart(input.sessionId(fixture: route.fixture ? fixture : nil))
            case "{eid}": target += input.urlPart(input.execId())
            case "{pid}": target += input.urlPart(input.processId())
            default: target += Array(segment.utf8)
            }
        }
        if let query = route.query { target += query(&input) }
        var body = route.body.map { $0(&input) }
        if body != nil && input.chance(0.08) { body = input.hostileBody() }
        if body == nil && method != "GET" && input.chance(0.3) { body = input.hostileBody() }

        var headers: [(String, [UInt8])] = [("Content-Type", Array("application/json".utf8))]
        if route.signed {
            // Each request signed anew: the spawner accepts a signature once.
            let now = SigningClock.shared.next()
            let path = String(decoding: target, as: UTF8.self)
            switch input.int(0...99) {
            case 0..<90:
                for (name, value) in signer.headers(method: method, pathWithQuery: path, body: body ?? [], nowMs: now) {
                    headers.append((name, Array(value.utf8)))
                }
            case 90..<93:
                headers.append((HMACSigner.timestampHeader, Array(input.pick(FuzzInput.extremeNumbers).utf8)))
                headers.append((HMACSigner.signatureHeader, Array(signer.signature(method: method, pathWithQuery: path, timestampMs: now, body: body ?? []).utf8)))
            case 93..<96:
                headers.append((HMACSigner.timestampHeader, Array(String(now).utf8)))
                headers.append((HMACSigner.signatureHeader, Array(input.text(maxPieces: 4).utf8).filter { $0 >= 0x20 }))
            default:
                break
            }
        }
        if route.pattern.hasSuffix("/terminal") && input.chance(0.2) {
            headers += [
                ("Connection", Array("Upgrade".utf8)), ("Upgrade", Array("websocket".utf8)), ("Sec-WebSocket-Version", Array("13".utf8)),
                ("Sec-WebSocket-Key", Array(input.pick(["dGhlIHNhbXBsZSBub25jZQ==", "", "x", "AAAAAAAAAAAAAAAAAAAAAA=="]).utf8)),
            ]
        }
        if route.liveStream && route.pattern.hasSuffix("/attach") && input.chance(0.3) {
            headers.append(("Last-Event-ID", Array(input.sequenceNumber().utf8).filter { $0 >= 0x20 }))
        }
        if input.chance(0.1) {
            let value: [UInt8] = input.chance(0.1) ? Array(repeating: UInt8(ascii: "v"), count: input.int(1000...60_000)) : Array(input.text().utf8).filter { $0 >= 0x20 }
            headers.append((input.pick(["X-Fuzz", "Content-Type", "Accept", "Last-Event-ID", "Cookie", "Expect", "Transfer-Encoding"]), value))
        }
        return WireHTTP.request(method: method, target: target, headers: headers, body: body)
    }

    /// A request as text for a failure report (long runs elided).
    static func describe(_ bytes: [UInt8]) -> String {
        let text = String(decoding: bytes.prefix(600), as: UTF8.self).debugDescription
        return bytes.count > 600 ? text + " … (\(bytes.count) bytes)" : text
    }

    /// The values of `label` in `spawner_http_request_duration_seconds` series.
    static func labels(_ label: String, in metrics: String) -> [String] {
        metrics.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("spawner_http_request_duration_seconds"), let start = line.range(of: "\(label)=\"") else { return nil }
            let rest = line[start.upperBound...]
            return rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
        }
    }
}

extension FuzzInput {
    /// The fixture session mostly; other ids, ids that are not ids.
    mutating func sessionId(fixture: String?) -> String {
        switch int(0...9) {
        case 0..<7 where fixture != nil: return fixture!
        case 0..<8: return "fz-\(int(0...5))"
        case 8: return pick([String(repeating: "a", count: 63), String(repeating: "a", count: 64), "UPPER", "a_b", "-", ""])
        default: return text(maxPieces: 4)
        }
    }

    /// The terminal's query: a size, a re-attach, or anything.
    mutating func terminalQuery() -> [UInt8] {
        switch int(0...3) {
        case 0: return query("cols", pick(Self.extremeNumbers)) + query("rows", pick(Self.extremeNumbers)).dropFirst().withAmpersand()
        case 1: return query("execId", execId()) + query("sinceSeq", sequenceNumber()).dropFirst().withAmpersand()
        case 2: return query("cols", "80") + query("rows", "24").dropFirst().withAmpersand()
        default: return query(text(maxPieces: 2), text(maxPieces: 3))
        }
    }

    /// `POST /v1/sessions`: fields present, absent, at the extremes, of the wrong type.
    mutating func createSessionRequest() -> [UInt8] {
        object([
            ("sessionId", { $0.jsonString($0.sessionId(fixture: nil)) }),
            ("owner", { input in
                input.object([("kind", { $0.jsonString($0.pick(["user", "team", ""])) }), ("id", { $0.jsonString($0.text(maxPieces: 3)) })])
            }),
            ("orgId", { $0.jsonString($0.chance(0.5) ? "org-a" : $0.text(maxPieces: 3)) }),
            ("profile", { $0.jsonString($0.text(maxPieces: 3)) }),
            ("image", { $0.jsonString($0.text(maxPieces: 3)) }),
            ("env", { $0.stringMap(key: { $0.chance(0.5) ? $0.pick(["FOO", "PATH", "RUNNERD_X", "A_B"]) : $0.text(maxPieces: 3) }, value: { $0.jsonString() }) }),
            // Short-lived: the sweep removes what the fuzz makes.
            ("ttlMs", { $0.chance(0.5) ? Array("\($0.int(1...500))".utf8) : $0.integerField(1...2_592_000_000) }),
            ("idleTimeoutMs", { $0.integerField(0...2_592_000_000) }),
        ])
    }
}

private extension Array where Element == UInt8 {
    /// A query continued: `?a=b` becomes `&a=b` (an empty one stays empty).
    func withAmpersand() -> [UInt8] { isEmpty ? [] : [UInt8(ascii: "&")] + self }
}

private extension ArraySlice where Element == UInt8 {
    func withAmpersand() -> [UInt8] { Array(self).withAmpersand() }
}
