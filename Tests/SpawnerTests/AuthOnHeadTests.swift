import Foundation
import RunnerProtocol
import SpawnerClient
import Testing
import TestSupport

/// A request whose head cannot be signed right is answered before its body is read, and its
/// connection is closed (issue 8 §1): a 4 MiB body behind a bad head is never waited for.
/// The client here sends the head and only the first 64 KiB of the body, then waits for the
/// answer: a spawner that reads the body first never answers.
@Suite(.timeLimit(.minutes(5))) struct AuthOnHeadTests {
    static let bodyBytes = Limits.maxRequestBodyBytes

    static func head(_ method: String = "POST", _ path: String = "/v1/sessions", length: Int = bodyBytes, headers: [(String, String)]) -> String {
        var text = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(length)\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        return text + "\r\n"
    }

    /// What a client that sent a head and the start of its body saw.
    struct Refusal: Sendable {
        var answer: RawConnection.Head?
        var closed: Bool
        var restTaken: Bool
    }

    /// Sends the head and 64 KiB of a 4 MiB body, reads the answer, waits for the connection to
    /// close, then tries to send the rest.
    static func sendHeadAndStart(port: Int, headers: [(String, String)], length: Int) async throws -> Refusal {
        try await blocking {
            let connection = try RawConnection(port: port)
            connection.send(head(length: length, headers: headers))
            connection.send([UInt8](repeating: UInt8(ascii: " "), count: 64 << 10))
            let answer = connection.readHead()
            let closed = connection.readToEnd(timeout: 30).eof
            let restTaken = connection.send([UInt8](repeating: UInt8(ascii: " "), count: bodyBytes))
            return Refusal(answer: answer, closed: closed, restTaken: restTaken)
        }
    }

    func expectRefusedOnTheHead(
        _ spawner: SpawnerProcess, status: Int, headers: [(String, String)], length: Int = bodyBytes,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let refusal = try await Self.sendHeadAndStart(port: spawner.port, headers: headers, length: length)
        let answer = try #require(refusal.answer, "no answer to the head", sourceLocation: sourceLocation)
        #expect(answer.status == status, sourceLocation: sourceLocation)
        #expect(answer.headers["connection"] == "close", sourceLocation: sourceLocation)
        #expect(refusal.closed, "the connection stayed open", sourceLocation: sourceLocation)
        #expect(!refusal.restTaken, "the rest of the body was taken", sourceLocation: sourceLocation)
    }

    static var nowMs: Int64 { SignatureProbe.nowMs }

    @Test func unsignedHeadIsRefusedBeforeItsBody() async throws {
        try await withSpawner { (spawner: SpawnerProcess) async throws in
            try await expectRefusedOnTheHead(spawner, status: 401, headers: [])
            try await expectRefusedOnTheHead(spawner, status: 401, headers: [(HMACSigner.timestampHeader, String(Self.nowMs))])
            // Timestamps the head alone proves wrong, with a signature of the right shape.
            let shaped = "v1=" + String(repeating: "ab", count: 32)
            for timestamp in [String(Self.nowMs - 600_000), String(Self.nowMs + 600_000), "soon", String(Int64.min), "99999999999999999999"] {
                try await expectRefusedOnTheHead(spawner, status: 401, headers: [(HMACSigner.timestampHeader, timestamp), (HMACSigner.signatureHeader, shaped)])
            }
            // Signatures of the wrong shape.
            for signature in ["v1=zz", "", "v1=" + String(repeating: "AB", count: 32), "v2=" + String(repeating: "ab", count: 32), shaped + "00"] {
                try await expectRefusedOnTheHead(
                    spawner, status: 401, headers: [(HMACSigner.timestampHeader, String(Self.nowMs)), (HMACSigner.signatureHeader, signature)])
            }
            #expect(try await spawner.client.listSessions().isEmpty)
        }
    }

    @Test func declaredLengthPastTheLimitIsRefusedBeforeItsBody() async throws {
        try await withSpawner { (spawner: SpawnerProcess) async throws in
            let shaped = "v1=" + String(repeating: "ab", count: 32)
            try await expectRefusedOnTheHead(
                spawner, status: 413, headers: [(HMACSigner.timestampHeader, String(Self.nowMs)), (HMACSigner.signatureHeader, shaped)],
                length: Self.bodyBytes + 1)
        }
    }

    /// With `X-Spawner-Content-SHA256` the head proves itself: a forged signature (another
    /// secret, another path, another body's hash) is `401` before the body, and the connection
    /// is closed; a malformed digest too.
    @Test func headsWithTheDigestAreProvenBeforeTheirBody() async throws {
        try await withSpawner { (spawner: SpawnerProcess) async throws in
            let other = HMACSigner(secret: Array(TestPaths.makeSecret().utf8))
            let signer = HMACSigner(secret: Array(spawner.secret.utf8))
            let body = [UInt8](repeating: UInt8(ascii: " "), count: Self.bodyBytes)
            let forgeries = [
                other.headers(method: "POST", pathWithQuery: "/v1/sessions", body: body, nowMs: Self.nowMs),
                signer.headers(method: "POST", pathWithQuery: "/v1/sessions/x/exec", body: body, nowMs: Self.nowMs),
                signer.headers(method: "POST", pathWithQuery: "/v1/sessions", body: body, nowMs: Self.nowMs - 1).map {
                    $0.0 == HMACSigner.contentDigestHeader ? ($0.0, Digest.sha256Hex(Array("other".utf8))) : $0
                },
                signer.headers(method: "POST", pathWithQuery: "/v1/sessions", body: body, nowMs: Self.nowMs - 2).map {
                    $0.0 == HMACSigner.contentDigestHeader ? ($0.0, "XYZ") : $0
                },
            ]
            for headers in forgeries { try await expectRefusedOnTheHead(spawner, status: 401, headers: headers) }
        }
    }

    /// A head that proves itself, then a body that is not the one its digest names: `401` once
    /// the body is in, and the connection closed.
    @Test func aBodyThatIsNotTheDigestsIs401() async throws {
        try await withSpawner { (spawner: SpawnerProcess) async throws in
            let signer = HMACSigner(secret: Array(spawner.secret.utf8))
            let signedBody = Array(#"{"owner":{"kind":"user","id":"a"},"orgId":"o"}"#.utf8)
            let sentBody = Array(#"{"owner":{"kind":"user","id":"b"},"orgId":"o"}"#.utf8)
            let headers = signer.headers(method: "POST", pathWithQuery: "/v1/sessions", body: signedBody, nowMs: Self.nowMs)
            let port = spawner.port
            let (answer, closed) = try await blocking {
                let connection = try RawConnection(port: port)
                connection.send(Self.head(length: sentBody.count, headers: headers))
                connection.send(sentBody)
                return (connection.readHead(), connection.readToEnd(timeout: 30).eof)
            }
            #expect(answer?.status == 401)
            #expect(closed)
            #expect(try await spawner.client.listSessions().isEmpty)
        }
    }

    /// Without the digest a well-formed head can only be judged with its body: a forged
    /// signature costs one body read (within its address's share of the budget), then `401`
    /// and the connection is closed; a real one over 4 MiB is served.
    @Test func wellFormedHeadsAreJudgedWithTheirBody() async throws {
        try await withSpawner { (spawner: SpawnerProcess) async throws in
            let signer = HMACSigner(secret: Array(spawner.secret.utf8))
            // Valid JSON padded to the limit: the env value is too long, so the answer is 400.
            let prefix = #"{"owner":{"kind":"user","id":"a"},"orgId":"o","env":{"BIG":""#
            let suffix = #""}}"#
            let body = Array((prefix + String(repeating: "x", count: Self.bodyBytes - prefix.utf8.count - suffix.utf8.count) + suffix).utf8)
            #expect(body.count == Self.bodyBytes)
            let port = spawner.port
            let forgedHeaders = signer.headers(method: "POST", pathWithQuery: "/v1/sessions", body: Array("other".utf8), nowMs: Self.nowMs)
                .filter { $0.0 != HMACSigner.contentDigestHeader }
            let realHeaders = signer.headers(method: "POST", pathWithQuery: "/v1/sessions", body: body, nowMs: Self.nowMs)
                .filter { $0.0 != HMACSigner.contentDigestHeader }

            let (forged, forgedClosed) = try await blocking {
                let connection = try RawConnection(port: port)
                connection.send(Self.head(headers: forgedHeaders))
                connection.send(body)
                return (connection.readHead(), connection.readToEnd(timeout: 30).eof)
            }
            #expect(forged?.status == 401)
            #expect(forged?.headers["connection"] == "close")
            #expect(forgedClosed)

            let real = try await blocking {
                let connection = try RawConnection(port: port)
                connection.send(Self.head(headers: realHeaders))
                connection.send(body)
                return connection.readHead()
            }
            #expect(real?.status == 400)
            #expect(real?.headers["connection"] != "close")
        }
    }
}
