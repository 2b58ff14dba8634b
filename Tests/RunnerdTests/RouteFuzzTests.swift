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

// MARK: Generators of the routes' parts

extension FuzzInput {
    /// Ids of execs that the run keeps hitting (so attach, stdin, cancel and status meet live and
    /// finished execs), and ids that are not ids.
    mutating func execId() -> String {
        switch int(0...9) {
        case 0..<6: return "fz\(int(0...47))"
        case 6: return String(repeating: "a", count: pick([64, 65, 1000]))
        case 7: return ""
        default: return text(maxPieces: 4)
        }
    }

    mutating func execPath(_ action: String?) -> [UInt8] {
        var path = Array("/execs/".utf8) + urlPart(execId())
        if let action { path += Array("/\(action)".utf8) }
        return path
    }

    mutating func query(_ name: String, _ value: String) -> [UInt8] {
        if chance(0.05) { return [] }
        var query = Array("?\(name)=".utf8) + urlPart(value)
        if chance(0.05) { query += Array("&\(name)=".utf8) + urlPart(text(maxPieces: 3)) }
        if chance(0.05) { query += Array("&&=&x".utf8) }
        return query
    }

    mutating func sequenceNumber() -> String {
        chance(0.7) ? pick(Self.extremeNumbers + ["", " 1", "+1", "0x10", "1 ", "00000000000000000000001"]) : text(maxPieces: 3)
    }

    /// A workspace path: plain, nested, escaping, reserved, odd.
    mutating func workspacePath() -> String {
        switch int(0...9) {
        case 0..<3: return pick(["", ".", "f.txt", "dir", "dir/sub/f.txt", "a b", "~", "-", ".runnerd", ".runnerd/execs"])
        case 3: return pick(["..", "../..", "/", "/etc/passwd", "/proc/self/environ", "dir/../../x", "/tmp"])
        case 4: return String(repeating: "d/", count: int(100...3000))
        default: return text(maxPieces: 6)
        }
    }

    /// Commands that are harmless whatever the generated arguments: nothing here can run for
    /// long, read stdin forever or reach outside the sandbox.
    mutating func argv() -> [UInt8] {
        switch int(0...9) {
        case 0..<3: return array({ $0.jsonString($0.pick(["true", "echo", "printf", "false"])) }, maxCount: 1)
        case 3..<6:
            let command = pick(["echo", "printf", "true", "/bin/echo", "~not-a-command", "/nonexistent", "", "./nothing"])
            return [UInt8(ascii: "[")] + jsonString(command)
                + Array((0..<int(0...4)).flatMap { _ in [UInt8(ascii: ",")] + jsonString() }) + [UInt8(ascii: "]")]
        case 6: return Array("[]".utf8)
        default: return array({ $0.jsonString("~" + $0.text(maxPieces: 3)) }, maxCount: 3)
        }
    }

    /// Shell scripts that do nothing harmful: fixed ones, or generated text behind a comment.
    mutating func shellScript() -> [UInt8] {
        if chance(0.5) { return jsonString(pick(["true", "echo fuzz", "exit 3", "printf '%s' \"$0\"", "echo $RUNNERD_TOKEN", ""])) }
        let junk = text().replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\r", with: " ")
        return jsonString("# " + junk)
    }

    /// Execs that start (so that attach, stdin, resize, signal and cancel meet live and finished
    /// ones), with one field sometimes replaced; otherwise anything at all.
    mutating func execRequest() -> [UInt8] {
        if chance(0.4) {
            let id = jsonString("fz\(int(0...47))")
            var fields: [(String, [UInt8])] = [("execId", id), ("timeoutMs", Array("\(pick([0, 300, 1000]))".utf8)), ("stdoutMaxBytes", Array("0".utf8)), ("stderrMaxBytes", Array("0".utf8))]
            switch int(0...3) {
            case 0: fields.append(("command", Array(#"["true"]"#.utf8)))
            case 1: fields += [("shell", jsonString("read line; echo \"$line\"")), ("stdinMode", jsonString("hold")), ("timeoutMs", Array("300".utf8))]
            case 2: fields += [("shell", jsonString("echo tty; sleep 0.1")), ("pty", Array(#"{"cols":80,"rows":24}"#.utf8))]
            default: fields.append(("command", Array(#"["sleep","0.2"]"#.utf8)))
            }
            if chance(0.3) {
                let index = int(0...(fields.count - 1))
                fields[index].1 = chance(0.5) ? number() : wrongType()
            }
            // A repeated key: the decoder's choice, whichever it is, is still an answer.
            let members = fields.map { jsonString($0.0) + [UInt8(ascii: ":")] + $0.1 }
            return [UInt8(ascii: "{")] + Array(members.joined(separator: [UInt8(ascii: ",")])) + [UInt8(ascii: "}")]
        }
        return object([
            ("execId", { $0.jsonString($0.execId()) }),
            ("command", { $0.argv() }),
            ("shell", { $0.shellScript() }),
            ("cwd", { $0.jsonString($0.workspacePath()) }),
            ("env", { $0.stringMap(key: { $0.chance(0.5) ? $0.pick(["FOO", "PATH", "HOME", "RUNNERD_X", "http_proxy", "A_B"]) : $0.text(maxPieces: 3) }, value: { $0.jsonString() }) }),
            ("timeoutMs", { $0.integerField(0...2_592_000_000) }),
            ("stdoutMaxBytes", { $0.integerField(0...Int64.max) }),
            ("stderrMaxBytes", { $0.integerField(0...Int64.max) }),
            ("killGraceMs", { $0.integerField(0...300_000) }),
            ("stdinMode", { $0.jsonString($0.pick(["close", "hold", "open", ""])) }),
            ("stdinBase64", { $0.base64() }),
            ("pty", { $0.terminalSize() }),
        ])
    }

    mutating func base64() -> [UInt8] {
        switch int(0...5) {
        case 0..<3:
            let bytes = (0..<int(0...200)).map { _ in UInt8.random(in: 0...255, using: &random) }
            return jsonString(Data(bytes).base64EncodedString())
        case 3: return jsonString(Data((Array(#"{"a":1}"#.utf8) + [10])).base64EncodedString())
        case 4: return jsonString(String(repeating: "QUFB", count: pick([21_846, 262_144, 300_000])))
        default: return jsonString(text(maxPieces: 4))
        }
    }

    mutating func stdinRequest() -> [UInt8] {
        object([("b64", { $0.base64() }), ("eof", { $0.chance(0.8) ? Array($0.pick(["true", "false"]).utf8) : $0.wrongType() })])
    }

    mutating func envPatch() -> [UInt8] {
        object([
            ("set", { $0.stringMap(maxCount: 8, key: { $0.chance(0.5) ? $0.pick(["FOO", "PATH", "A1", "_", "1A", "A=B", ""]) : $0.text(maxPieces: 3) }, value: { $0.chance(0.03) ? $0.jsonString(String(repeating: "v", count: 40_000)) : $0.jsonString() }) }),
            ("unset", { $0.array({ $0.jsonString($0.chance(0.5) ? "FOO" : $0.text(maxPieces: 3)) }) }),
        ])
    }

    /// URLs that can only fail or stay on this machine: a closed loopback port, refused schemes.
    mutating func stageURL() -> [UInt8] {
        jsonString(pick([
            "http://127.0.0.1:1/x", "https://127.0.0.1:1/", "http://[::1]:1/", "ftp://127.0.0.1/x", "file:///etc/passwd",
            "", "http://", "gopher://127.0.0.1:1/", "HTTP://127.0.0.1:1/y", "http://127.0.0.1:1/" + text(maxPieces: 3),
        ]))
    }

    mutating func stageRequest() -> [UInt8] {
        object([
            ("files", {
                $0.array({ input in
                    input.object([
                        ("path", { $0.jsonString($0.workspacePath()) }),
                        ("contentBase64", { $0.base64() }),
                        ("url", { $0.stageURL() }),
                    ])
                }, maxCount: 4)
            })
        ])
    }

    mutating func terminalSize() -> [UInt8] {
        object([("cols", { $0.integerField(1...1000) }), ("rows", { $0.integerField(1...1000) })])
    }

    /// Signal names, with and without `SIG`, in any case, and ones that are not signals.
    mutating func signalRequest(anySignal: Bool) -> [UInt8] {
        let harmless = ["WINCH", "SIGWINCH", "cont", "SigCont"]
        let all = harmless + ["HUP", "INT", "QUIT", "TERM", "KILL", "USR1", "USR2", "STOP", "sigterm"]
        let invalid = ["", "SIG", "9", "-9", "SIGSEGV", "SEGV", "ABRT", "SIGKILLX", "kill ", "\u{0}KILL"]
        return object([("signal", { input in
            input.chance(0.6) ? input.jsonString(input.pick(anySignal ? all : harmless)) : input.chance(0.7) ? input.jsonString(input.pick(invalid)) : input.wrongType()
        })])
    }

    /// Process ids at every boundary, and ones that are not ids.
    mutating func processId() -> String {
        pick(["0", "1", "-1", "2", "\(getpid())", "2147483647", "2147483648", "4294967296", "-2147483648", "99999999999999999999", "1e3", " 1", "abc", ""])
    }

    mutating func deleteRequest() -> [UInt8] {
        object([("paths", { $0.array({ $0.jsonString($0.workspacePath()) }, maxCount: 4) })])
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
