import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL
import RunnerProtocol
import SpawnerClient
import Testing
import TestSupport

/// The spawner's own listener over HTTPS (contract v1.2 §4): with `SPAWNER_TLS_CERT` and
/// `SPAWNER_TLS_KEY` it serves HTTPS only; the CLI and `SpawnerClient` verify it against a CA
/// file. The CA and the server's certificate (for 127.0.0.1) are made here.
@Suite(.timeLimit(.minutes(10))) struct ListenerTLSTests {
    /// The PEM files of a CA and of a certificate it issued for 127.0.0.1 and `localhost`.
    struct Files: Sendable {
        let directory: String
        var ca: String { directory + "/ca.pem" }
        var certificate: String { directory + "/server.pem" }
        var key: String { directory + "/server-key.pem" }

        init() throws {
            directory = TestPaths.makeTempDir("spawner-tls")
            let authority = try TestCA(name: "spawner test CA")
            let issued = try authority.issueServer(commonName: "spawner", dnsNames: ["localhost"])
            // Read by the spawner, which may run as another user (the `nobody` pass).
            for (path, text) in [(directory + "/ca.pem", authority.certificatePEM), (directory + "/server.pem", issued.certificatePEM), (directory + "/server-key.pem", issued.keyPEM)] {
                try text.write(toFile: path, atomically: true, encoding: .utf8)
                chmod(path, 0o644)
            }
        }
    }

    /// A spawner serving HTTPS with new `Files`, and a client that trusts its CA; the sessions
    /// are deleted over HTTPS at the end.
    static func withTLSSpawner(_ body: (SpawnerProcess, Files, SpawnerClient) async throws -> Void) async throws {
        let files = try Files()
        defer { TestPaths.remove(files.directory) }
        try await withSpawner(environment: ["SPAWNER_TLS_CERT": files.certificate, "SPAWNER_TLS_KEY": files.key]) { (spawner: SpawnerProcess) async throws in
            let tls = SpawnerClient.tlsConfiguration(caFile: files.ca)
            let http = SpawnerClient.makeHTTPClient(tlsConfiguration: tls)
            // By name: the WebSocket client sends the host as SNI, which cannot be an IP address.
            let client = SpawnerClient(baseURL: "https://localhost:\(spawner.port)", secret: Array(spawner.secret.utf8), httpClient: http, tlsConfiguration: tls)
            var failure: (any Error)?
            do {
                try await body(spawner, files, client)
            } catch {
                failure = error
            }
            for session in (try? await client.listSessions()) ?? [] { try? await client.deleteSession(session.sessionId) }
            try await http.shutdown()
            if let failure { throw failure }
        }
    }

    @Test func createExecStreamAndTerminalOverHTTPSWithTheCLIAndTheClient() async throws {
        try await Self.withTLSSpawner { spawner, files, client in
            _ = try await client.create("secure")
            // An exec's events (SSE) over TLS.
            let events = try await client.run("secure", ExecRequest(execId: "e1", shell: "echo over-tls; seq 1 20000 | tail -n 1", timeoutMs: 60_000))
            #expect(events.stdoutText == "over-tls\n20000\n")
            #expect(events.exit?.exitCode == 0)
            // The terminal's WebSocket over TLS (wss).
            let transcript = TerminalTranscript()
            try await client.terminal("secure", size: TerminalSize(cols: 80, rows: 24)) { socket, messages in
                try await socket.send(Array("echo tls-term-$((6*7)); exit 3\r".utf8))
                for try await message in messages { transcript.take(message) }
            }
            #expect(transcript.output.contains("tls-term-42"))
            #expect(transcript.exit?.exitCode == 3)

            // The CLI, trusting the CA by SPAWNER_CA_FILE or --ca-file (by IP address here: the
            // certificate names 127.0.0.1 too).
            let url = "https://127.0.0.1:\(spawner.port)"
            let ca = ["SPAWNER_CA_FILE": files.ca]
            let created = try await CLITests.cli(url: url, secret: spawner.secret, ["create", "by-cli"], extra: ca)
            #expect(created.status == 0, "\(created)")
            let run = try await CLITests.cli(url: url, secret: spawner.secret, ["exec", "by-cli", "--", "sh", "-c", "echo cli-tls; exit 4"], extra: ca)
            #expect(run.status == 4 && run.stdout == "cli-tls\n", "\(run)")
            let listed = try await CLITests.cli(url: url, secret: spawner.secret, ["ls", "--ca-file", files.ca])
            #expect(listed.status == 0 && listed.stdout.contains("by-cli") && listed.stdout.contains("secure"), "\(listed)")

            // Without the CA the certificate does not verify (the system's roots do not know it).
            let untrusting = try await CLITests.cli(url: url, secret: spawner.secret, ["ls"])
            #expect(untrusting.status == 125 && untrusting.stderr.contains("CERTIFICATE_VERIFY_FAILED"), "\(untrusting)")
            #expect(untrusting.stdout.isEmpty)
            let systemTrust = SpawnerClient.makeHTTPClient(tlsConfiguration: SpawnerClient.tlsConfiguration(caFile: nil))
            let stranger = SpawnerClient(baseURL: url, secret: Array(spawner.secret.utf8), httpClient: systemTrust)
            await #expect(throws: NIOSSLError.self) { try await stranger.listSessions() }
            // Nor with another CA.
            let other = TestPaths.makeTempDir("spawner-other-ca")
            defer { TestPaths.remove(other) }
            try TestCA(name: "another CA").certificatePEM.write(toFile: other + "/ca.pem", atomically: true, encoding: .utf8)
            let wrongCA = SpawnerClient.makeHTTPClient(tlsConfiguration: SpawnerClient.tlsConfiguration(caFile: other + "/ca.pem"))
            let misled = SpawnerClient(baseURL: url, secret: Array(spawner.secret.utf8), httpClient: wrongCA)
            await #expect(throws: NIOSSLError.self) { try await misled.listSessions() }
            try await systemTrust.shutdown()
            try await wrongCA.shutdown()

            // HTTPS only: plain HTTP to the port gets no HTTP answer.
            await #expect(throws: (any Error).self) {
                _ = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(spawner.port)/healthz"), timeout: .seconds(10))
            }
            let port = spawner.port
            let plain = try await blocking {
                let connection = try RawConnection(port: port)
                connection.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                return connection.readToEnd(timeout: 10)
            }
            #expect(plain.eof)
            #expect(!String(decoding: plain.bytes, as: UTF8.self).contains("HTTP/1.1"), "no HTTP answer in clear")
        }
    }

    @Test func aCertificateWithoutItsKeyIsRefusedAtStart() async throws {
        let files = try Files()
        defer { TestPaths.remove(files.directory) }
        for environment in [["SPAWNER_TLS_CERT": files.certificate], ["SPAWNER_TLS_KEY": files.key], ["SPAWNER_TLS_CERT": files.key, "SPAWNER_TLS_KEY": files.key]] {
            do {
                let spawner = try await SpawnerProcess.start(environment: environment)
                await spawner.tearDown()
                Issue.record("started with \(environment)")
            } catch let failure as SpawnerProcess.StartFailure {
                #expect(failure.log.contains("SPAWNER_TLS"), "\(failure.log.suffix(1000))")
            }
        }
    }
}
