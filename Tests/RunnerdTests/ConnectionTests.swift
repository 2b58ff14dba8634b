import AsyncHTTPClient
import Foundation
import RunnerProtocol
import RunnerdClient
import TestSupport
import Testing

/// What runnerd does with connections before and around requests: the token is checked on the
/// head, connections are capped, idle ones are closed, and none of that touches a live stream.
@Suite("connections: auth on the head, cap, idle timeout", .timeLimit(.minutes(5)))
struct ConnectionTests {
    /// A 4 MiB body that is never sent: the 401 comes from the head alone, and the connection
    /// closes (the body would have been read, buffered and only then refused).
    @Test func unauthenticatedRequestIsRefusedOnItsHeadAndTheConnectionCloses() async throws {
        let runnerd = try await RunnerdProcess.start()
        for authorization in [nil, "Bearer wrong-token", "Basic \(runnerd.token!)"] {
            for (method, path) in [("POST", "/execs"), ("POST", "/files/stage"), ("POST", "/env"), ("POST", "/nowhere")] {
                let connection = try RawConnection(port: runnerd.port)
                var head = "\(method) \(path) HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(4 << 20)\r\n"
                if let authorization { head += "Authorization: \(authorization)\r\n" }
                connection.send(head + "\r\n")
                let (bytes, eof) = connection.readToEnd(timeout: 30)
                let answer = String(decoding: bytes, as: UTF8.self)
                #expect(answer.hasPrefix("HTTP/1.1 401"), "\(method) \(path) with \(authorization ?? "no token"): \(answer)")
                #expect(answer.lowercased().contains("connection: close"))
                #expect(answer.hasSuffix(#"{"error":"unauthorized"}"#))
                #expect(eof, "the connection is closed after the 401, without reading the body")
            }
        }
        // With the token, the same head waits for its body.
        let authorized = try RawConnection(port: runnerd.port)
        let body = #"{"set":{"A":"1"}}"#
        authorized.send("POST /env HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(runnerd.token!)\r\nContent-Length: \(body.utf8.count)\r\n\r\n")
        authorized.send(body)
        #expect(String(decoding: authorized.readSome(timeout: 10), as: UTF8.self).hasPrefix("HTTP/1.1 200"))
        #expect(try await runnerd.client.ready())
        await runnerd.stop()
    }

    /// 5,000 connections that send nothing (or half a head) against a cap of 64: runnerd keeps
    /// at most 64 open, closing the ones that were quiet longest, while an exec stream that was
    /// already running goes on and a new authorized exec is answered.
    @Test func fiveThousandConnectionFloodIsCappedWhileExecsGoOn() async throws {
        let limit = Flood.raiseOpenFileLimit(to: 12_000)
        try #require(limit >= 12_000, "the flood needs 12,000 descriptors; RLIMIT_NOFILE is \(limit)")
        let cap = 64
        let runnerd = try await RunnerdProcess.start(environment: ["RUNNERD_MAX_CONNECTIONS": "\(cap)"])
        let client = runnerd.client
        // A live stream from before the flood: it waits for a stdin line.
        let held = Task { try await client.runShell("held", "read line; echo \"got $line\"") { $0.stdinMode = .hold } }
        #expect(try await eventually { try await client.status("held").state == .running })
        let socketsBefore = try Flood.sockets(of: runnerd.pid)

        let port = runnerd.port
        let flood = try await blocking {
            try (0..<5_000).map { index in
                let connection = try RawConnection(port: port)
                if index % 3 == 0 { connection.send("GET /healthz HTTP/1.1\r\nHost: x\r\n") }  // a head that never ends
                return connection
            }
        }
        // runnerd closed all but the newest `cap` (less the stream's connection).
        #expect(try await eventually(timeout: .seconds(60)) { try await blocking { Flood.closedByPeer(flood) } >= flood.count - cap })
        let open = try Flood.sockets(of: runnerd.pid)
        #expect(open <= socketsBefore + cap, "runnerd holds \(open) sockets, \(socketsBefore) before the flood, cap \(cap)")

        // A new authorized exec is answered, and the held stream was not cut.
        let fresh = runnerd.client
        #expect(try await fresh.run("during-flood", ["echo", "answered"]).stdoutText == "answered\n")
        #expect(try await fresh.stdin("held", StdinRequest(b64: Base64.encode(Array("{}\n".utf8)))).ok)
        let heldResult = try await held.value
        #expect(heldResult.stdoutText == "got {}\n")
        #expect(heldResult.exit?.exitCode == 0)
        heldResult.checkSequence()
        for connection in flood { connection.hangUp() }
        let metrics = String(decoding: try await fresh.call(.GET, "/metrics").body, as: UTF8.self)
        #expect(metrics.contains(#"runnerd_http_connections_closed_total{reason="evicted"}"#), "\(metrics)")
        #expect(try await fresh.ready())
        await runnerd.stop()
    }

    /// A connection that sends nothing, or half a request, or nothing after its answer, is closed
    /// after the idle timeout; a stream that is silent for longer is not idle.
    @Test func idleConnectionsAreClosedButSilentStreamsAreNot() async throws {
        let runnerd = try await RunnerdProcess.start(environment: ["RUNNERD_IDLE_TIMEOUT_MS": "300"])
        let silent = try RawConnection(port: runnerd.port)
        let halfHead = try RawConnection(port: runnerd.port)
        halfHead.send("GET /healthz HTTP/1.1\r\nHost: x\r\n")
        let afterAnswer = try RawConnection(port: runnerd.port)
        afterAnswer.send("GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
        for (name, connection) in [("silent", silent), ("half a head", halfHead), ("kept alive after an answer", afterAnswer)] {
            let (bytes, eof) = connection.readToEnd(timeout: 30)
            #expect(eof, "\(name): closed by runnerd")
            if name == "kept alive after an answer" {
                #expect(String(decoding: bytes, as: UTF8.self).hasPrefix("HTTP/1.1 200"))
            } else {
                #expect(bytes.isEmpty, "\(name): \(String(decoding: bytes, as: UTF8.self))")
            }
        }
        // Silent for several idle periods, on the exec stream and on an attach. (The client's
        // pool drops idle connections before runnerd does, so that it never reuses one that
        // runnerd is closing.)
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .milliseconds(100))
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            try await silentStreams(RunnerdClient(baseURL: runnerd.baseURL, token: runnerd.token, httpClient: httpClient))
            try await httpClient.shutdown()
        } catch {
            try? await httpClient.shutdown()
            throw error
        }
        await runnerd.stop()
    }

    private func silentStreams(_ client: RunnerdClient) async throws {
        let started = Task { try await client.runShell("quiet", "echo start; sleep 1.5; echo end") }
        #expect(try await eventually { try await client.status("quiet").lastSeq ?? 0 >= 2 })
        let attached = try await client.attachAll("quiet", sinceSeq: 0)
        #expect(attached.stdoutText == "start\nend\n")
        #expect(attached.exit?.exitCode == 0)
        let result = try await started.value
        #expect(result.stdoutText == "start\nend\n")
        result.checkSequence()
        let metrics = String(decoding: try await client.call(.GET, "/metrics").body, as: UTF8.self)
        #expect(metrics.contains(#"runnerd_http_connections_closed_total{reason="idle"}"#))
    }
}
