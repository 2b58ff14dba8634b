import Foundation
import RunnerProtocol
import RunnerdClient
import TestSupport
import Testing

/// The Prometheus text exposition format, parsed: samples `name{labels} value [timestamp]`
/// and the `# TYPE` of each metric family.
struct PrometheusText {
    struct Sample: Equatable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    struct ParseError: Error, CustomStringConvertible {
        let line: String
        let why: String
        var description: String { "\(why): \(line)" }
    }

    var samples: [Sample] = []
    var types: [String: String] = [:]

    init(_ text: String) throws {
        for raw in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let line = String(raw)
            if line.hasPrefix("#") {
                let parts = line.split(separator: " ", omittingEmptySubsequences: true)
                if parts.count >= 4, parts[1] == "TYPE" { types[String(parts[2])] = String(parts[3]) }
                continue
            }
            samples.append(try Self.parseSample(line))
        }
    }

    private static func parseSample(_ line: String) throws -> Sample {
        let chars = Array(line.unicodeScalars)
        var index = 0
        func isNameChar(_ c: Unicode.Scalar, first: Bool) -> Bool {
            (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c == "_" || c == ":" || (!first && c >= "0" && c <= "9")
        }
        var name = ""
        while index < chars.count, isNameChar(chars[index], first: name.isEmpty) {
            name.unicodeScalars.append(chars[index])
            index += 1
        }
        guard !name.isEmpty else { throw ParseError(line: line, why: "no metric name") }
        var labels: [String: String] = [:]
        if index < chars.count, chars[index] == "{" {
            index += 1
            while true {
                while index < chars.count, chars[index] == " " { index += 1 }
                guard index < chars.count else { throw ParseError(line: line, why: "unterminated label set") }
                if chars[index] == "}" {
                    index += 1
                    break
                }
                var label = ""
                while index < chars.count, isNameChar(chars[index], first: label.isEmpty) {
                    label.unicodeScalars.append(chars[index])
                    index += 1
                }
                guard !label.isEmpty, index + 1 < chars.count, chars[index] == "=", chars[index + 1] == "\"" else {
                    throw ParseError(line: line, why: "bad label")
                }
                index += 2
                var value = ""
                while true {
                    guard index < chars.count else { throw ParseError(line: line, why: "unterminated label value") }
                    let c = chars[index]
                    index += 1
                    if c == "\"" { break }
                    if c == "\\" {
                        guard index < chars.count else { throw ParseError(line: line, why: "dangling escape") }
                        let escaped = chars[index]
                        index += 1
                        switch escaped {
                        case "n": value += "\n"
                        case "\\": value += "\\"
                        case "\"": value += "\""
                        default: throw ParseError(line: line, why: "unknown escape \\\(escaped)")
                        }
                    } else {
                        value.unicodeScalars.append(c)
                    }
                }
                guard labels[label] == nil else { throw ParseError(line: line, why: "duplicate label \(label)") }
                labels[label] = value
                while index < chars.count, chars[index] == " " { index += 1 }
                if index < chars.count, chars[index] == "," { index += 1 }
            }
        }
        guard index < chars.count, chars[index] == " " else { throw ParseError(line: line, why: "no value") }
        let rest = String(String.UnicodeScalarView(chars[index...])).split(separator: " ", omittingEmptySubsequences: true)
        guard rest.count == 1 || rest.count == 2, let value = parseValue(String(rest[0])) else {
            throw ParseError(line: line, why: "bad value")
        }
        if rest.count == 2, Int64(rest[1]) == nil { throw ParseError(line: line, why: "bad timestamp") }
        return Sample(name: name, labels: labels, value: value)
    }

    static func parseValue(_ text: String) -> Double? {
        switch text {
        case "+Inf", "Inf": .infinity
        case "-Inf": -.infinity
        case "NaN": .nan
        default: Double(text)
        }
    }

    /// The value of the one sample with exactly these labels.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        let matches = samples.filter { $0.name == name && $0.labels == labels }
        return matches.count == 1 ? matches[0].value : nil
    }

    /// Every sample of `name` whose labels include `labels`.
    func samples(_ name: String, matching labels: [String: String] = [:]) -> [Sample] {
        samples.filter { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }
    }
}

extension RunnerdClient {
    /// `GET /metrics`, parsed.
    fileprivate func metrics() async throws -> PrometheusText {
        let (status, body) = try await call(.GET, "/metrics")
        guard status == 200 else { throw RunnerdClientError.status(status, body: String(decoding: body, as: UTF8.self)) }
        return try PrometheusText(String(decoding: body, as: UTF8.self))
    }
}

@Suite("GET /metrics: Prometheus text", .timeLimit(.minutes(10)))
struct MetricsTests {
    @Test func parserReadsTheExpositionFormat() throws {
        let text = try PrometheusText(
            """
            # HELP x_total A counter.
            # TYPE x_total counter
            x_total 3
            y{a="1",b="two words"} 2.5
            y{a="esc \\"q\\" \\\\ \\n",} -1e3 1700000000000
            h_bucket{le="+Inf"} 4
            z NaN

            """)
        #expect(text.types["x_total"] == "counter")
        #expect(text.value("x_total") == 3)
        #expect(text.value("y", ["a": "1", "b": "two words"]) == 2.5)
        #expect(text.value("y", ["a": "esc \"q\" \\ \n"]) == -1000)
        #expect(text.value("h_bucket", ["le": "+Inf"]) == 4)
        #expect(text.value("z")?.isNaN == true)
        #expect(text.value("y") == nil, "labels must match exactly")
        #expect(throws: PrometheusText.ParseError.self) { try PrometheusText("bad{a=1} 2") }
        #expect(throws: PrometheusText.ParseError.self) { try PrometheusText("bad 2 3 4") }
    }

    @Test func metricsNeedTheToken() async throws {
        let runnerd = try await RunnerdProcess.start()
        let anonymous = RunnerdClient(baseURL: runnerd.baseURL, token: nil)
        let (status, body) = try await anonymous.call(.GET, "/metrics")
        #expect(status == 401)
        #expect(try WireJSON.decode(ErrorBody.self, from: body) == ErrorBody(error: "unauthorized"))
        let wrong = RunnerdClient(baseURL: runnerd.baseURL, token: "not-the-token")
        #expect(try await wrong.call(.GET, "/metrics").status == 401)
        let viaHeader = try await anonymous.send(.GET, "/metrics", headers: [("X-Runnerd-Token", runnerd.token!)])
        #expect(viaHeader.status.code == 200)
        #expect(viaHeader.headers.first(name: "content-type")?.hasPrefix("text/plain") == true)
        _ = try await viaHeader.body.collect(upTo: 1 << 20)

        let metrics = try await runnerd.client.metrics()
        #expect(metrics.value("runnerd_http_requests_total", ["route": "metrics", "status": "401"]) == 2)
        // The answer counts the requests answered before it: the X-Runnerd-Token one.
        #expect(metrics.value("runnerd_http_requests_total", ["route": "metrics", "status": "200"]) == 1)
        // Nothing ran yet: every family is there, at zero.
        #expect(metrics.value("runnerd_execs_started_total") == 0)
        #expect(metrics.value("runnerd_live_execs") == 0)
        #expect(metrics.value("runnerd_gaps_served_total") == 0)
        #expect(metrics.value("runnerd_consumers_dropped_total") == 0)
        #expect(metrics.value("runnerd_output_bytes_total", ["stream": "stdout"]) == 0)
        #expect(metrics.value("runnerd_output_bytes_total", ["stream": "stderr"]) == 0)
        #expect(metrics.types["runnerd_execs_started_total"] == "counter")
        #expect(metrics.types["runnerd_live_execs"] == "gauge")
        #expect(metrics.types["runnerd_http_request_duration_seconds"] == "histogram")
        await runnerd.stop()
    }

    @Test func execOutcomesAndFailuresAreCounted() async throws {
        let runnerd = try await RunnerdProcess.start(environment: ["RUNNERD_MAX_LIVE_EXECS": "1"])
        let client = runnerd.client

        // One exec holds the only slot: live is 1 and a second exec is EXEC_LIMIT.
        let held = Task { try await client.run("held", ["sleep", "30"]) }
        #expect(try await eventually(timeout: .seconds(30)) { try await client.status("held").state == .running })
        #expect(try await eventually(timeout: .seconds(30)) { try await client.metrics().value("runnerd_live_execs") == 1 })
        #expect(try await client.run("limited", ["true"]).fail?.code == .execLimit)
        #expect(try await client.cancel("held").killed)
        let cancelled = try await held.value
        #expect(cancelled.exit?.cancelled == true)
        #expect(try await eventually(timeout: .seconds(30)) { try await client.health().liveExecs == 0 })

        #expect(try await client.run("ok", ["true"]).exit?.exitCode == 0)
        #expect(try await client.run("fails", ["sh", "-c", "exit 3"]).exit?.exitCode == 3)
        let signalled = try await client.run("signalled", ["sh", "-c", "kill -TERM $$"])
        #expect(signalled.exit?.signal == "SIGTERM")
        #expect(signalled.exit?.cancelled == false)
        let timedOut = try await client.run("slow", ["sleep", "30"], timeoutMs: 300)
        #expect(timedOut.exit?.timedOut == true)
        #expect(try await client.run("nobin", ["/definitely/not/here"]).fail?.code == .spawnFailed)
        #expect(try await client.run("bad id!", ["true"]).fail?.code == .badRequest)
        #expect(try await client.run("ok", ["true"]).fail?.code == .duplicateExec)
        #expect(try await client.run("nocwd", ["true"]) { $0.cwd = "no/such/dir" }.fail?.code == .invalidCwd)

        #expect(try await eventually(timeout: .seconds(30)) { try await client.metrics().value("runnerd_live_execs") == 0 })
        let metrics = try await client.metrics()
        // Started: the execs that got a `start` event.
        #expect(metrics.value("runnerd_execs_started_total") == 5, "held, ok, fails, signalled, slow")
        let failed = Dictionary(uniqueKeysWithValues: metrics.samples("runnerd_execs_failed_total").map { ($0.labels["code"] ?? "", $0.value) })
        #expect(
            failed == [
                "BAD_REQUEST": 1, "DUPLICATE_EXEC": 1, "INVALID_CWD": 1, "EXEC_LIMIT": 1, "SPAWN_FAILED": 1, "SHUTTING_DOWN": 0,
            ])
        let exited = Dictionary(uniqueKeysWithValues: metrics.samples("runnerd_execs_exited_total").map { ($0.labels["outcome"] ?? "", $0.value) })
        let expectedExits: [String: Double] = ["success": 1, "failure": 1, "signal": 1, "timeout": 1, "cancelled": 1, "lost": 0]
        #expect(exited == expectedExits)
        await runnerd.stop()
    }

    @Test func outputBytesAreCountedExactlyPerStream() async throws {
        let runnerd = try await RunnerdProcess.start()
        let client = runnerd.client
        let both = try await client.run("both", ["sh", "-c", "head -c 100000 /dev/zero; head -c 3333 /dev/zero >&2; printf abc"])
        #expect(both.stdout.count == 100_003)
        #expect(both.stderr.count == 3_333)
        // Output past a cap is not streamed, and not counted.
        let capped = try await client.run("capped", ["sh", "-c", "head -c 5000 /dev/zero; head -c 7000 /dev/zero >&2"]) {
            $0.stdoutMaxBytes = 1000
            $0.stderrMaxBytes = 10
        }
        #expect(capped.stdout.count == 1000)
        #expect(capped.stderr.count == 10)
        #expect(capped.exit?.truncated.stdout == true)
        let metrics = try await client.metrics()
        #expect(metrics.value("runnerd_output_bytes_total", ["stream": "stdout"]) == 101_003)
        #expect(metrics.value("runnerd_output_bytes_total", ["stream": "stderr"]) == 3_343)
        await runnerd.stop()
    }

    @Test func gapsServedAndConsumersDroppedAreCounted() async throws {
        let runnerd = try await RunnerdProcess.start()
        let client = runnerd.client

        // A gap: attach from seq 0 after far more than the 256 KiB ring.
        let big = try await client.run("big", ["sh", "-c", "head -c 1048576 /dev/zero | dd bs=4096 2>/dev/null"])
        #expect(big.stdout.count == 1_048_576)
        let replay = try await client.attachAll("big", sinceSeq: 0)
        guard case .gap = replay.events.first?.body else {
            Issue.record("no gap served: \(String(describing: replay.events.first))")
            return
        }
        // Within the ring: no gap, so no count.
        let lastSeq = try #require(big.events.last?.seq)
        let tail = try await client.attachAll("big", sinceSeq: lastSeq - 2)
        #expect(tail.events.count == 2)
        var metrics = try await client.metrics()
        #expect(metrics.value("runnerd_gaps_served_total") == 1)
        #expect(metrics.value("runnerd_consumers_dropped_total") == 0)

        // A consumer that never reads is dropped once its backlog passes 8 MiB.
        let total = 32 << 20
        let stalled = try RawConnection(port: runnerd.port, receiveBuffer: 4096)
        stalled.post(
            "/execs", token: runnerd.token,
            json: #"{"execId":"flood","command":["head","-c","\#(total)","/dev/zero"],"timeoutMs":0,"stdoutMaxBytes":0,"stderrMaxBytes":0}"#)
        #expect(try await eventually(timeout: .seconds(30)) { (try? await client.status("flood").state) != nil })
        let status = try await client.waitUntilExited("flood", timeout: .seconds(120))
        #expect(status.exitCode == 0)
        metrics = try await client.metrics()
        withExtendedLifetime(stalled) {}  // the stalled consumer stays connected until here
        #expect(metrics.value("runnerd_consumers_dropped_total") == 1)
        #expect(metrics.value("runnerd_gaps_served_total") == 1)
        #expect(metrics.value("runnerd_output_bytes_total", ["stream": "stdout"]) == Double(1_048_576 + total))
        await runnerd.stop()
    }

    @Test func httpRequestsAreCountedByRouteAndStatusWithLatencyHistograms() async throws {
        let runnerd = try await RunnerdProcess.start()
        let client = runnerd.client
        let anonymous = RunnerdClient(baseURL: runnerd.baseURL, token: nil)

        _ = try await client.health()
        _ = try await client.health()
        #expect(try await anonymous.call(.GET, "/healthz").status == 401)
        #expect(try await anonymous.call(.GET, "/readyz").status == 200)
        #expect(try await client.call(.GET, "/nope").status == 404)
        #expect(try await client.call(.DELETE, "/execs").status == 405)
        #expect(try await client.call(.POST, "/env", body: Array("{not json".utf8)).status == 400)
        #expect(try await client.run("one", ["true"]).exit?.exitCode == 0)
        #expect(try await client.status("one").state == .exited)
        #expect(try await client.status("unknown").state == .gone)
        #expect(try await client.attachAll("one").exit?.exitCode == 0)
        #expect(try await client.call(.POST, "/files/stage", body: Array(#"{"files":[{"path":"m.txt","contentBase64":"aGk="}]}"#.utf8)).status == 200)
        #expect(try await client.call(.POST, "/files/delete", body: Array(#"{"paths":["m.txt"]}"#.utf8)).status == 200)
        #expect(try await client.call(.GET, "/fs/list?path=").status == 200)
        #expect(try await client.call(.GET, "/fs/read?path=missing").status == 404)
        #expect(try await client.call(.GET, "/fs/read?path=..").status == 400)
        _ = try await client.metrics()
        let metrics = try await client.metrics()

        let expected: [String: [String: Double]] = [
            "healthz": ["200": 2, "401": 1],
            "readyz": ["200": 1],
            "not_found": ["404": 1],
            "method_not_allowed": ["405": 1],
            "env": ["400": 1],
            "exec_start": ["200": 1],
            "exec_status": ["200": 1, "404": 1],
            "exec_attach": ["200": 1],
            "files_stage": ["200": 1],
            "files_delete": ["200": 1],
            "fs_list": ["200": 1],
            "fs_read": ["404": 1, "400": 1],
            "metrics": ["200": 1],
        ]
        var seen: [String: [String: Double]] = [:]
        for sample in metrics.samples("runnerd_http_requests_total") {
            seen[sample.labels["route"] ?? "?", default: [:]][sample.labels["status"] ?? "?"] = sample.value
            #expect(Set(sample.labels.keys) == ["route", "status"])
        }
        #expect(seen == expected)

        // Latency: one histogram per route, its count the route's requests, buckets cumulative.
        #expect(metrics.types["runnerd_http_request_duration_seconds"] == "histogram")
        for (route, statuses) in expected {
            let requests = statuses.values.reduce(0, +)
            let count = metrics.value("runnerd_http_request_duration_seconds_count", ["route": route])
            #expect(count == requests, "histogram count for \(route)")
            let sum = try #require(metrics.value("runnerd_http_request_duration_seconds_sum", ["route": route]), "sum for \(route)")
            #expect(sum >= 0 && sum.isFinite)
            let buckets = metrics.samples("runnerd_http_request_duration_seconds_bucket", matching: ["route": route])
                .compactMap { sample in PrometheusText.parseValue(sample.labels["le"] ?? "").map { ($0, sample.value) } }
                .sorted { $0.0 < $1.0 }
            #expect(buckets.count >= 2, "buckets for \(route)")
            #expect(buckets.last?.0 == .infinity, "a +Inf bucket for \(route)")
            #expect(buckets.last?.1 == requests, "+Inf bucket == count for \(route)")
            #expect(zip(buckets, buckets.dropFirst()).allSatisfy { $0.1 <= $1.1 }, "cumulative buckets for \(route): \(buckets)")
            #expect(buckets.allSatisfy { $0.1 >= 0 && $0.1 <= requests })
        }
        // Only known routes: the histogram has no route the counters lack.
        let histogramRoutes = Set(metrics.samples("runnerd_http_request_duration_seconds_count").compactMap { $0.labels["route"] })
        #expect(histogramRoutes == Set(expected.keys))
        await runnerd.stop()
    }

    /// 200 distinct methods and paths, with and without the token: the request metrics keep
    /// one series per route and status, never one per method or path a client made up.
    @Test func unknownMethodsAndPathsCreateNoSeriesOfTheirOwn() async throws {
        let runnerd = try await RunnerdProcess.start()
        let token = try #require(runnerd.token)
        let port = runnerd.port
        let statuses = try await blocking {
            let wire = WireHTTP(port: port)
            var statuses: Set<Int> = []
            for index in 0..<200 {
                let method = ["PROPFIND", "BREW", "X\(index)", "GET", "POST", "DELETE"][index % 6]
                let path = "/made-up-\(index)/\(index % 7 == 0 ? "execs" : "x")?q=\(index)"
                let headers: [(String, [UInt8])] = index % 2 == 0 ? [("Authorization", Array("Bearer \(token)".utf8))] : []
                statuses.insert(try wire.exchange(WireHTTP.request(method: method, target: Array(path.utf8), headers: headers, body: nil)).status)
            }
            return statuses
        }
        #expect(statuses.isSubset(of: [400, 401, 404, 405]), "\(statuses)")
        let metrics = try await runnerd.client.metrics()
        let series = metrics.samples("runnerd_http_requests_total")
        #expect(series.count <= 8, "\(series.map(\.labels))")
        #expect(Set(series.compactMap { $0.labels["route"] }).isSubset(of: ["not_found", "method_not_allowed", "unparsed", "metrics"]))
        #expect(series.allSatisfy { Set($0.labels.keys) == ["route", "status"] })
        await runnerd.stop()
    }
}
