import Foundation
import NIOHTTP1
import RunnerProtocol
import SpawnerClient
import Testing

/// Client connections are bounded (issue 8 §1): a cap with the longest-idle connection making
/// room for a new one, an idle timeout that spares live streams, and metric labels that no
/// client can multiply.
@Suite(.timeLimit(.minutes(10))) struct ConnectionLimitTests {
    static func signedGET(_ spawner: SpawnerProcess, _ path: String) throws -> RawConnection.Head? {
        let connection = try RawConnection(port: spawner.port)
        let signer = HMACSigner(secret: Array(spawner.secret.utf8))
        var head = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for (name, value) in signer.headers(method: "GET", pathWithQuery: path, body: [], nowMs: SignatureProbe.nowMs) { head += "\(name): \(value)\r\n" }
        guard connection.send(head + "\r\n") else { return nil }
        return try connection.readHead()
    }

    @Test func floodOfFiveThousandConnectionsIsCappedWhileSignedRequestsAreServed() async throws {
        let cap = 64
        let environment = ["SPAWNER_MAX_CONNECTIONS": String(cap), "SPAWNER_CONNECTION_IDLE_TIMEOUT_MS": "3000"]
        try await withSpawner(environment: environment) { (spawner: SpawnerProcess) async throws in
            let client = spawner.client
            _ = try await client.create("flooded")
            // A stream that runs through the flood: busy connections are never the ones to go.
            let script = "for i in $(seq 1 25); do echo tick $i; sleep 0.2; done"
            let stream = try await client.exec("flooded", ExecRequest(execId: "ticks", shell: script, timeoutMs: 120_000))
            let reader = Task {
                var events: [ExecEvent] = []
                for try await event in stream { events.append(event) }
                return events
            }
            let baseline = ProcessScan.socketCount(spawner.pid)

            let flood = try ConnectionFlood(port: spawner.port, count: 5_000)
            defer { flood.close() }
            var peak = 0
            var admittedPeak = 0
            for round in 0..<30 {
                if round == 3 { flood.sendPartialHeads() }
                peak = max(peak, ProcessScan.socketCount(spawner.pid) - baseline)
                if round % 5 == 4 { admittedPeak = max(admittedPeak, try await Self.openConnections(spawner)) }
                try await Task.sleep(for: .milliseconds(100))
            }
            // The governor never holds more than the cap...
            #expect(admittedPeak <= cap, "\(admittedPeak) connections admitted")
            // ...and neither does the process, once the evictions' closes have run (they are
            // queued on the connections' event loops, so a sample can catch a few more).
            #expect(peak < 5 * cap, "the spawner held \(peak) more sockets than before the flood")
            #expect(await eventually { ProcessScan.socketCount(spawner.pid) - baseline <= cap }, "more than \(cap) extra sockets stay open")

            // A new client is answered while the flood holds its connections open.
            let answer = try #require(try Self.signedGET(spawner, "/v1/sessions"))
            #expect(answer.status == 200)
            let events = try await reader.value
            #expect(events.stdoutText == (1...25).map { "tick \($0)\n" }.joined())
            #expect(events.exit?.exitCode == 0)
            let metrics = try await spawner.openGET("/metrics").body
            let evicted = metrics.split(separator: "\n").first { $0.hasPrefix(#"spawner_connections_shed_total{reason="evicted"}"#) }
            #expect(Double(evicted?.split(separator: " ").last ?? "") ?? 0 >= 1_000, "\(evicted ?? "no eviction count")")
        }
    }

    /// `spawner_open_connections`.
    static func openConnections(_ spawner: SpawnerProcess) async throws -> Int {
        let metrics = try await spawner.openGET("/metrics").body
        let line = metrics.split(separator: "\n").first { $0.hasPrefix("spawner_open_connections ") }
        return Int(Double(line?.split(separator: " ").last ?? "") ?? -1)
    }

    @Test func idleConnectionsAreClosedButAQuietStreamIsNot() async throws {
        try await withSpawner(environment: ["SPAWNER_CONNECTION_IDLE_TIMEOUT_MS": "500"]) { (spawner: SpawnerProcess) async throws in
            let client = spawner.client
            _ = try await client.create("quiet")
            // Silent for several idle timeouts, then output: the stream is not idle.
            let stream = try await client.exec("quiet", ExecRequest(execId: "nap", shell: "sleep 3; echo awake", timeoutMs: 60_000))
            let reader = Task {
                var events: [ExecEvent] = []
                for try await event in stream { events.append(event) }
                return events
            }

            let silent = try RawConnection(port: spawner.port)
            #expect(silent.waitForClose(), "a connection that sent nothing stayed open")
            let halfHead = try RawConnection(port: spawner.port)
            #expect(halfHead.send("GET /v1/sessions HTTP/1.1\r\nHost: x\r\n"))
            #expect(halfHead.waitForClose(), "a connection that sent half a head stayed open")
            // Kept alive after an answer, then idle.
            let keptAlive = try RawConnection(port: spawner.port)
            #expect(keptAlive.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))
            #expect(try keptAlive.readHead()?.status == 200)
            #expect(keptAlive.waitForClose(), "an idle kept-alive connection stayed open")

            let events = try await reader.value
            #expect(events.stdoutText == "awake\n")
            #expect(events.exit?.exitCode == 0)
        }
    }

    @Test func unknownMethodsAndPathsDoNotCreateMetricSeries() async throws {
        try await withSpawner { (spawner: SpawnerProcess) async throws in
            for index in 0..<20 {
                let connection = try RawConnection(port: spawner.port)
                #expect(connection.send("FROB\(index) /made/up/\(index) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
                _ = try connection.readHead()
                let other = try RawConnection(port: spawner.port)
                #expect(other.send("GET /v1/nothing/\(index)?x=\(index) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
                _ = try other.readHead()
                _ = try await spawner.openGET("/nowhere/\(index)")
            }
            let metrics = try await spawner.openGET("/metrics").body
            let series = metrics.split(separator: "\n").filter { $0.hasPrefix("spawner_http_request_duration_seconds_count") }
            #expect(!series.isEmpty)
            for line in series {
                #expect(!line.contains("FROB") && !line.contains("made/up") && !line.contains("nothing") && !line.contains("nowhere"), "\(line)")
            }
            #expect(series.count < 10, "\(series.count) series: \(series)")
        }
    }
}
