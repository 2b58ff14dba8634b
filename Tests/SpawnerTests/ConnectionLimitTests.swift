import Foundation
import NIOHTTP1
import RunnerProtocol
import SpawnerClient
import Testing
import TestSupport

/// Client connections are bounded (issue 8 §1): a cap with the longest-idle connection making
/// room for a new one, an idle timeout that spares live streams, and metric labels that no
/// client can multiply.
@Suite(.timeLimit(.minutes(10))) struct ConnectionLimitTests {
    /// A signed `GET` on a connection of its own; the answer's head.
    static func signedGET(_ spawner: SpawnerProcess, _ path: String) async throws -> RawConnection.Head? {
        let signer = HMACSigner(secret: Array(spawner.secret.utf8))
        var head = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for (name, value) in signer.headers(method: "GET", pathWithQuery: path, body: [], nowMs: SignatureProbe.nowMs) { head += "\(name): \(value)\r\n" }
        let request = head + "\r\n"
        let port = spawner.port
        return try await blocking {
            let connection = try RawConnection(port: port)
            connection.send(request)
            return connection.readHead()
        }
    }

    /// `spawner_open_connections`.
    static func openConnections(_ spawner: SpawnerProcess) async throws -> Int {
        let metrics = try await spawner.openGET("/metrics").body
        let line = metrics.split(separator: "\n").first { $0.hasPrefix("spawner_open_connections ") }
        return Int(Double(line?.split(separator: " ").last ?? "") ?? -1)
    }

    @Test func floodOfFiveThousandConnectionsIsCappedWhileSignedRequestsAreServed() async throws {
        let limit = Flood.raiseOpenFileLimit(to: 12_000)
        try #require(limit >= 12_000, "the flood needs 12,000 descriptors; RLIMIT_NOFILE is \(limit)")
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
            let baseline = try Flood.sockets(of: spawner.pid)

            // 5,000 connections; every third sends half a head and never the rest.
            let port = spawner.port
            let flood = try await blocking {
                try (0..<5_000).map { index in
                    let connection = try RawConnection(port: port)
                    if index % 3 == 0 { connection.send("GET /v1/sessions HTTP/1.1\r\nHost: flood\r\n") }
                    return connection
                }
            }
            // The spawner closed all but the newest `cap` or so.
            #expect(try await eventually(timeout: .seconds(60)) { try await blocking { Flood.closedByPeer(flood) } >= flood.count - cap })
            #expect(try await Self.openConnections(spawner) <= cap)
            let open = try Flood.sockets(of: spawner.pid)
            #expect(open <= baseline + cap, "the spawner holds \(open) sockets, \(baseline) before the flood, cap \(cap)")

            // A new client is answered while the flood holds its connections open, and the
            // stream from before the flood was not cut.
            let answer = try #require(try await Self.signedGET(spawner, "/v1/sessions"))
            #expect(answer.status == 200)
            let events = try await reader.value
            #expect(events.stdoutText == (1...25).map { "tick \($0)\n" }.joined())
            #expect(events.exit?.exitCode == 0)
            for connection in flood { connection.hangUp() }
            let metrics = try await spawner.openGET("/metrics").body
            let evicted = metrics.split(separator: "\n").first { $0.hasPrefix(#"spawner_connections_shed_total{reason="evicted"}"#) }
            #expect(Double(evicted?.split(separator: " ").last ?? "") ?? 0 >= 1_000, "\(evicted ?? "no eviction count")")
        }
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

            let port = spawner.port
            let closed = try await blocking {
                let silent = try RawConnection(port: port)
                let halfHead = try RawConnection(port: port)
                halfHead.send("GET /v1/sessions HTTP/1.1\r\nHost: x\r\n")
                let keptAlive = try RawConnection(port: port)
                keptAlive.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                let answered = keptAlive.readHead()?.status == 200
                return [
                    "silent": silent.readToEnd(timeout: 30).eof, "half a head": halfHead.readToEnd(timeout: 30).eof,
                    "kept alive after an answer": answered && keptAlive.readToEnd(timeout: 30).eof,
                ]
            }
            for (name, wasClosed) in closed { #expect(wasClosed, "\(name): still open") }

            let events = try await reader.value
            #expect(events.stdoutText == "awake\n")
            #expect(events.exit?.exitCode == 0)
        }
    }

    /// A request that cannot be parsed (here a head far over the limit, still being sent) is
    /// answered `400` and its connection closed at once, not held until the idle timeout
    /// (ten minutes here) while the client blocks on a full socket.
    @Test func unparsableRequestClosesItsConnection() async throws {
        try await withSpawner(environment: ["SPAWNER_CONNECTION_IDLE_TIMEOUT_MS": "600000"]) { (spawner: SpawnerProcess) async throws in
            let port = spawner.port
            let (head, sentAll, closed) = try await blocking {
                let connection = try RawConnection(port: port)
                let sentAll = connection.send("GET /v1/sessions?orgId=" + String(repeating: "%41", count: 2_000_000) + " HTTP/1.1\r\nHost: x\r\n\r\n")
                return (connection.readHead(timeout: 60), sentAll, connection.readToEnd(timeout: 60).eof)
            }
            #expect(head?.status == 400)
            #expect(!sentAll, "the spawner read a 6 MB head")
            #expect(closed)
            #expect(try await spawner.openGET("/healthz").status == 200)
        }
    }

    @Test func unknownMethodsAndPathsDoNotCreateMetricSeries() async throws {
        try await withSpawner { (spawner: SpawnerProcess) async throws in
            let port = spawner.port
            try await blocking {
                for index in 0..<20 {
                    let connection = try RawConnection(port: port)
                    connection.send("FROB\(index) /made/up/\(index) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    _ = connection.readHead()
                    let other = try RawConnection(port: port)
                    other.send("GET /v1/nothing/\(index)?x=\(index) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    _ = other.readHead()
                }
            }
            for index in 0..<20 { _ = try await spawner.openGET("/nowhere/\(index)") }
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
