import Foundation
import RunnerProtocol
import RunnerdClient
import TestSupport
import Testing

/// Every route of runnerd driven with generated input: bodies, path segments, queries, headers
/// and methods at the extremes (see `FuzzInput`). The only answers allowed are 2xx and 4xx, and
/// the daemon must be alive and working afterwards.
///
/// Seeded and reproducible: `RUNNERD_FUZZ_SEED` picks the seed (printed with every failure),
/// `RUNNERD_FUZZ_CASES` the number of cases.
@Suite("fuzz: every runnerd route with generated input", .timeLimit(.minutes(10)))
struct RouteFuzzTests {
    static let seed = ProcessInfo.processInfo.environment["RUNNERD_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0x5EED_0008
    static let cases = ProcessInfo.processInfo.environment["RUNNERD_FUZZ_CASES"].flatMap { Int($0) } ?? 3000

    @Test func everyRouteAnswers2xxOr4xxAndTheDaemonSurvives() async throws {
        let runnerd = try await RunnerdProcess.start()
        let token = try #require(runnerd.token)
        let (port, pid) = (runnerd.port, runnerd.pid)
        let run = try await blocking { Self.run(port: port, pid: pid, token: token) }
        for failure in run.failures { Issue.record(Comment(rawValue: failure)) }
        #expect(kill(runnerd.pid, 0) == 0, "runnerd died; log:\n\(runnerd.log.suffix(4000))")
        // Alive and working: it answers, runs a command, and counts requests by route only.
        #expect(try await runnerd.client.ready())
        let after = try await runnerd.client.run("after-fuzz", ["echo", "alive"])
        #expect(after.stdoutText == "alive\n")
        let metrics = try await runnerd.client.call(.GET, "/metrics")
        let routes = Set(MetricsText.routeLabels(String(decoding: metrics.body, as: UTF8.self)))
        #expect(routes.isSubset(of: FuzzRoutes.knownRouteLabels), "per-value series: \(routes.subtracting(FuzzRoutes.knownRouteLabels))")
        // Every route was exercised.
        let exercised = Set(run.statuses.keys.map { String($0.split(separator: " ")[0]) })
        #expect(exercised == Set(FuzzRoutes.all.map(\.name)), "routes never reached: \(Set(FuzzRoutes.all.map(\.name)).subtracting(exercised))")
        print("fuzz (seed \(Self.seed), \(Self.cases) cases): \(run.statuses.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: ", "))")
        await runnerd.stop()
    }

    struct Run: Sendable {
        var statuses: [String: Int] = [:]
        var failures: [String] = []
    }

    /// The cases, one after the other on one kept-alive connection (a new one after runnerd
    /// closes it). Stops after 10 failures, or when runnerd is gone.
    static func run(port: Int, pid: Int32, token: String) -> Run {
        var input = FuzzInput(seed: seed)
        let wire = WireHTTP(port: port)
        var run = Run()
        for index in 0..<cases {
            let route = input.pick(FuzzRoutes.all)
            let request = FuzzRoutes.request(route, token: token, &input)
            do {
                let answer = try wire.exchange(request.bytes, firstChunkOnly: route.isLiveStream)
                run.statuses["\(route.name) \(answer.status)", default: 0] += 1
                if !(200..<500).contains(answer.status) {
                    run.failures.append("""
                        case \(index) (seed \(seed)): \(route.name) answered \(answer.status): \
                        \(String(decoding: answer.body.prefix(300), as: UTF8.self))
                        request: \(FuzzRoutes.describe(request.bytes))
                        """)
                }
            } catch {
                run.failures.append("""
                    case \(index) (seed \(seed)): \(route.name): \(error)
                    request: \(FuzzRoutes.describe(request.bytes))
                    runnerd alive: \(kill(pid, 0) == 0)
                    """)
                if kill(pid, 0) != 0 { break }
            }
            if run.failures.count >= 10 { break }
        }
        return run
    }
}

/// One route of the API and how to generate requests for it. Adding a route to the API means
/// adding a line to `FuzzRoutes.all`.
struct FuzzRoute: Sendable {
    let name: String
    let method: String
    /// The request target (path and query), raw.
    let target: @Sendable (inout FuzzInput) -> [UInt8]
    /// The JSON body, for routes that take one.
    let body: (@Sendable (inout FuzzInput) -> [UInt8])?
    /// The answer may stream for as long as the exec runs or until the client leaves (an exec
    /// in hold mode with no deadline waits for stdin forever, by design): only its first chunk
    /// is read, then the connection is dropped.
    let isLiveStream: Bool

    init(
        _ name: String, _ method: String, _ target: @escaping @Sendable (inout FuzzInput) -> [UInt8],
        body: (@Sendable (inout FuzzInput) -> [UInt8])? = nil, liveStream: Bool = false
    ) {
        self.name = name
        self.method = method
        self.target = target
        self.body = body
        self.isLiveStream = liveStream
    }

    init(_ name: String, _ method: String, _ path: String, body: (@Sendable (inout FuzzInput) -> [UInt8])? = nil) {
        self.init(name, method, { _ in Array(path.utf8) }, body: body)
    }
}

enum FuzzRoutes {
    static let all: [FuzzRoute] = [
        FuzzRoute("readyz", "GET", "/readyz"),
        FuzzRoute("healthz", "GET", "/healthz"),
        FuzzRoute("metrics", "GET", "/metrics"),
        FuzzRoute("exec", "POST", { _ in Array("/execs".utf8) }, body: { $0.execRequest() }, liveStream: true),
        FuzzRoute("attach", "GET", { $0.execPath("attach") + $0.query("sinceSeq", $0.sequenceNumber()) }, liveStream: true),
        FuzzRoute("status", "GET", { $0.execPath(nil) }),
        FuzzRoute("cancel", "POST", { $0.execPath("cancel") }, body: { _ in Array("{}".utf8) }),
        FuzzRoute("stdin", "POST", { $0.execPath("stdin") }, body: { $0.stdinRequest() }),
        FuzzRoute("env", "POST", "/env", body: { $0.envPatch() }),
        FuzzRoute("stage", "POST", "/files/stage", body: { $0.stageRequest() }),
        FuzzRoute("delete", "POST", "/files/delete", body: { $0.deleteRequest() }),
        FuzzRoute("list", "GET", { Array("/fs/list".utf8) + $0.query("path", $0.workspacePath()) }),
        FuzzRoute("read", "GET", { Array("/fs/read".utf8) + $0.query("path", $0.workspacePath()) }),
        FuzzRoute("resize", "POST", { $0.execPath("resize") }, body: { $0.terminalSize() }),
        FuzzRoute("signal", "POST", { $0.execPath("signal") }, body: { $0.signalRequest(anySignal: true) }),
        FuzzRoute("processes", "GET", "/processes"),
        // Only harmless signals go to a process id: a pid that runnerd wrongly took for an agent's
        // must not take down a process of the machine running the test.
        FuzzRoute("process-signal", "POST", { Array("/processes/".utf8) + $0.urlPart($0.processId()) + Array("/signal".utf8) }, body: { $0.signalRequest(anySignal: false) }),
        FuzzRoute("watch", "GET", { Array("/fs/watch".utf8) + $0.query("path", $0.workspacePath()) + $0.query("recursive", $0.pick(["true", "false", "1", "0", "", "yes", "TRUE"])) }, liveStream: true),
    ]

    /// The `route` label values runnerd may use in its request metrics.
    static let knownRouteLabels: Set<String> = [
        "readyz", "healthz", "exec_start", "exec_attach", "exec_cancel", "exec_stdin", "exec_status", "env", "metrics",
        "files_stage", "files_delete", "fs_list", "fs_read", "exec_resize", "exec_signal", "processes", "process_signal", "fs_watch",
        "method_not_allowed", "not_found", "unparsed",
    ]

    static let otherMethods = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "FUZZ", "PROPFIND", "get"]

    struct Request {
        var bytes: [UInt8]
    }

    /// A request for `route`: mostly its own method with a valid token and a generated body, with
    /// every part sometimes replaced by something hostile.
    static func request(_ route: FuzzRoute, token: String, _ input: inout FuzzInput) -> Request {
        let method = input.chance(0.04) ? input.pick(otherMethods) : route.method
        var headers: [(String, [UInt8])] = []
        switch input.int(0...99) {
        case 0..<88: headers.append(("Authorization", Array("Bearer \(token)".utf8)))
        case 88..<91: headers.append(("X-Runnerd-Token", Array(token.utf8)))
        case 91..<93: headers.append(("Authorization", Array("Bearer \(token)x".utf8)))
        case 93..<95: headers.append(("Authorization", Array("Basic \(token)".utf8)))
        case 95..<97: headers.append(("Authorization", [0xFF, 0xFE] + Array(token.utf8)))
        default: break
        }
        if input.chance(0.1) {
            let value: [UInt8] = input.chance(0.1) ? Array(repeating: UInt8(ascii: "v"), count: input.int(1000...60_000)) : Array(input.text().utf8).filter { $0 >= 0x20 }
            headers.append((input.pick(["X-Fuzz", "Content-Type", "Accept", "Last-Event-ID", "Cookie", "Expect"]), value))
        }
        var body = route.body.map { $0(&input) }
        if body != nil && input.chance(0.08) { body = input.hostileBody() }
        if body == nil && method != "GET" && input.chance(0.3) { body = input.hostileBody() }
        return Request(bytes: WireHTTP.request(method: method, target: route.target(&input), headers: headers, body: body))
    }

    /// A request as text for a failure report (long runs elided).
    static func describe(_ bytes: [UInt8]) -> String {
        let text = String(decoding: bytes.prefix(600), as: UTF8.self).debugDescription
        return bytes.count > 600 ? text + " … (\(bytes.count) bytes)" : text
    }
}

/// Reading Prometheus text for the labels a test cares about.
enum MetricsText {
    /// The `route` label values of `runnerd_http_requests_total`.
    static func routeLabels(_ text: String) -> [String] {
        text.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("runnerd_http_requests_total{"), let start = line.range(of: "route=\"") else { return nil }
            let rest = line[start.upperBound...]
            guard let end = rest.firstIndex(of: "\"") else { return nil }
            return String(rest[..<end])
        }
    }
}
