import AsyncHTTPClient
import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOCore
import RunnerProtocol
import SpawnerClient
import Testing
import TestSupport

/// A signed request works once (contract v1.2 §4): the same signature again, while its
/// timestamp is in the window, is `401 {"error":"unauthorized","message":"replayed"}`, and the
/// spawner's clients never send one twice. Pre-signed terminal URLs: 60 s, one connection.
@Suite(.timeLimit(.minutes(5))) struct ReplayTests {
    static let logger = Logger(label: "replay-test")

    func expectReplayed(_ answer: (status: Int, body: ErrorBody?), sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(answer.status == 401, sourceLocation: sourceLocation)
        #expect(answer.body == ErrorBody(error: "unauthorized", message: "replayed"), sourceLocation: sourceLocation)
    }

    @Test func theSameSignedRequestTwiceIsRefusedTheSecondTime() async throws {
        try await withSpawner { (spawner: SpawnerProcess) async throws in
            let probe = SignatureProbe(spawner: spawner)
            let signer = HMACSigner(secret: Array(spawner.secret.utf8))
            // A read, with the digest header and without.
            let listing = signer.headers(method: "GET", pathWithQuery: "/v1/sessions", body: [], nowMs: SignatureProbe.nowMs)
            #expect(try await probe.send(headers: listing).status == 200)
            expectReplayed(try await probe.send(headers: listing))
            let legacy = signer.headers(method: "GET", pathWithQuery: "/v1/sessions", body: [], nowMs: SignatureProbe.nowMs - 1_000)
                .filter { $0.0 != HMACSigner.contentDigestHeader }
            #expect(try await probe.send(headers: legacy).status == 200)
            expectReplayed(try await probe.send(headers: legacy))
            // The legacy signature with the digest added is the same signature: still replayed.
            let digest = (HMACSigner.contentDigestHeader, Digest.sha256Hex([UInt8]()))
            expectReplayed(try await probe.send(headers: legacy + [digest]))

            // A write: a captured create replayed after the session is gone would make it again.
            let body = try WireJSON.encode(CreateSessionRequest(sessionId: "once", owner: SessionOwner(kind: "user", id: "a"), orgId: "o"))
            let create = signer.headers(method: "POST", pathWithQuery: "/v1/sessions", body: body, nowMs: SignatureProbe.nowMs)
            #expect(try await probe.send(.POST, signedBody: body, headers: create).status == 201)
            try await spawner.client.deleteSession("once")
            expectReplayed(try await probe.send(.POST, signedBody: body, headers: create))
            #expect(try await spawner.client.listSessions().isEmpty, "the replay made nothing")
            // A failed request used its signature too: an exec of a session that is not there.
            let exec = try WireJSON.encode(ExecRequest(execId: "x", command: ["/bin/true"]))
            let execHeaders = signer.headers(method: "POST", pathWithQuery: "/v1/sessions/once/exec", body: exec, nowMs: SignatureProbe.nowMs)
            #expect(try await probe.send(.POST, signedPath: "/v1/sessions/once/exec", signedBody: exec, headers: execHeaders).status == 404)
            expectReplayed(try await probe.send(.POST, signedPath: "/v1/sessions/once/exec", signedBody: exec, headers: execHeaders))
        }
    }

    /// The client signs every request with a timestamp of its own: 200 identical reads at once
    /// are all served (two in the same millisecond would otherwise share a signature).
    @Test func theClientNeverSendsASignatureTwice() async throws {
        try await withSpawner { (spawner: SpawnerProcess) async throws in
            let client = spawner.client
            _ = try await client.create("same")
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<200 { group.addTask { try await client.status(.GET, "/v1/sessions/same").0 } }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.count == 200 && statuses.allSatisfy { $0 == 200 }, "\(Dictionary(grouping: statuses) { $0 }.mapValues(\.count))")
            // Through the CLI, processes one after another and an exec that follows its stream.
            for _ in 0..<3 {
                let listed = try await CLITests.cli(spawner, ["ls"])
                #expect(listed.status == 0 && listed.stdout.contains("same"), "\(listed)")
            }
            let exec = try await CLITests.cli(spawner, ["exec", "same", "--", "/bin/echo", "once"])
            #expect(exec.status == 0 && exec.stdout == "once\n", "\(exec)")
        }
    }

    @Test func aPresignedTerminalURLOpensOneTerminalWithinSixtySeconds() async throws {
        try await withSpawner { (spawner: SpawnerProcess) async throws in
            let client = spawner.client
            _ = try await client.create("link")
            let presigned = Self.presignedTerminal(client.terminalPageURL("link"))
            let url = spawner.baseURL.replacing("http://", with: "ws://") + presigned
            let close = try await WebSocketClient.connect(url: url, logger: Self.logger) { inbound, outbound, _ in
                try await outbound.write(.binary(ByteBuffer(string: "exit 0\r")))
                for try await _ in inbound.messages(maxSize: 1 << 20) {}
            }
            #expect(close?.closeCode == .normalClosure)
            // The second use: not upgraded, and the plain GET says why.
            await #expect(throws: (any Error).self) {
                try await WebSocketClient.connect(url: url, logger: Self.logger) { _, _, _ in }
            }
            let again = try await spawner.openGET(presigned)
            #expect(again.status == 401 && again.body.contains("replayed"), "\(again)")

            // 61 s old (or 61 s ahead): refused, though inside the headers' 5 minutes.
            for skew: Int64 in [-61_000, 61_000] {
                let skewed = SpawnerClient(baseURL: spawner.baseURL, secret: Array(spawner.secret.utf8), now: { SpawnerClient.epochMs() + skew })
                let answer = try await spawner.openGET(Self.presignedTerminal(skewed.terminalPageURL("link")))
                #expect(answer.status == 401, "skew \(skew): \(answer)")
            }
            let recent = SpawnerClient(baseURL: spawner.baseURL, secret: Array(spawner.secret.utf8), now: { SpawnerClient.epochMs() - 50_000 })
            #expect(try await spawner.openGET(Self.presignedTerminal(recent.terminalPageURL("link"))).status == 426, "50 s old is still valid")

            // Headers work once too.
            let path = SpawnerClient.terminalPath("link", size: TerminalSize(cols: 80, rows: 24))
            let headers = client.terminalHeaders(path)
            var fields = HTTPFields()
            for (name, value) in headers { fields[HTTPField.Name(name)!] = value }
            let wsURL = spawner.baseURL.replacing("http://", with: "ws://") + path
            let first = try await WebSocketClient.connect(url: wsURL, configuration: .init(additionalHeaders: fields), logger: Self.logger) {
                inbound, outbound, _ in
                try await outbound.write(.binary(ByteBuffer(string: "exit 0\r")))
                for try await _ in inbound.messages(maxSize: 1 << 20) {}
            }
            #expect(first?.closeCode == .normalClosure)
            await #expect(throws: (any Error).self) {
                try await WebSocketClient.connect(url: wsURL, configuration: .init(additionalHeaders: fields), logger: Self.logger) { _, _, _ in }
            }
        }
    }

    /// The terminal path of a page URL: its `ts` and `sig` on the WebSocket's path.
    static func presignedTerminal(_ page: String) -> String {
        let query = String(page[page.index(after: page.firstIndex(of: "?")!)...]).split(separator: "&")
        let session = query.first { $0.hasPrefix("session=") }!.dropFirst("session=".count)
        return "/v1/sessions/\(session)/terminal?" + query.filter { !$0.hasPrefix("session=") }.joined(separator: "&")
    }
}
