import Foundation
import RunnerProtocol
import SpawnerClient
import Testing

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

    /// Sends the head and 64 KiB of a 4 MiB body; expects `status` with `Connection: close`
    /// and the connection closed, so the rest of the body cannot be sent.
    func expectRefusedOnTheHead(
        _ spawner: SpawnerProcess, status: Int, headers: [(String, String)], length: Int = bodyBytes,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let connection = try RawConnection(port: spawner.port)
        let sentHead = connection.send(Self.head(length: length, headers: headers))
        let sentStart = connection.send([UInt8](repeating: UInt8(ascii: " "), count: 64 << 10))
        #expect(sentHead && sentStart, sourceLocation: sourceLocation)
        let answer = try #require(try connection.readHead(), "closed without an answer", sourceLocation: sourceLocation)
        #expect(answer.status == status, sourceLocation: sourceLocation)
        #expect(answer.headers["connection"] == "close", sourceLocation: sourceLocation)
        #expect(connection.waitForClose(), "the connection stayed open", sourceLocation: sourceLocation)
        let restTaken = connection.send([UInt8](repeating: UInt8(ascii: " "), count: Self.bodyBytes))
        #expect(!restTaken, "the rest of the body was taken", sourceLocation: sourceLocation)
    }

    static var nowMs: Int64 { SignatureProbe.nowMs }

    @Test func unsignedHeadIsRefusedBeforeItsBody() async throws {
        try await withSpawner { (spawner: SpawnerProcess) async throws in
            try expectRefusedOnTheHead(spawner, status: 401, headers: [])
            try expectRefusedOnTheHead(spawner, status: 401, headers: [(HMACSigner.timestampHeader, String(Self.nowMs))])
            // Timestamps the head alone proves wrong, with a signature of the right shape.
            let shaped = "v1=" + String(repeating: "ab", count: 32)
            for timestamp in [String(Self.nowMs - 600_000), String(Self.nowMs + 600_000), "soon", String(Int64.min), "99999999999999999999"] {
                try expectRefusedOnTheHead(spawner, status: 401, headers: [(HMACSigner.timestampHeader, timestamp), (HMACSigner.signatureHeader, shaped)])
            }
            // Signatures of the wrong shape.
            for signature in ["v1=zz", "", "v1=" + String(repeating: "AB", count: 32), "v2=" + String(repeating: "ab", count: 32), shaped + "00"] {
                try expectRefusedOnTheHead(spawner, status: 401, headers: [(HMACSigner.timestampHeader, String(Self.nowMs)), (HMACSigner.signatureHeader, signature)])
            }
            #expect(try await spawner.client.listSessions().isEmpty)
        }
    }

    @Test func declaredLengthPastTheLimitIsRefusedBeforeItsBody() async throws {
        try await withSpawner { (spawner: SpawnerProcess) async throws in
            let shaped = "v1=" + String(repeating: "ab", count: 32)
            try expectRefusedOnTheHead(
                spawner, status: 413, headers: [(HMACSigner.timestampHeader, String(Self.nowMs)), (HMACSigner.signatureHeader, shaped)],
                length: Self.bodyBytes + 1)
        }
    }

    /// A well-formed head can only be judged with its body: a forged signature costs one body
    /// read, then `401` and the connection is closed; a real one over 4 MiB is served.
    @Test func wellFormedHeadsAreJudgedWithTheirBody() async throws {
        try await withSpawner { (spawner: SpawnerProcess) async throws in
            let signer = HMACSigner(secret: Array(spawner.secret.utf8))
            // Valid JSON padded to the limit: the env value is too long, so the answer is 400.
            let prefix = #"{"owner":{"kind":"user","id":"a"},"orgId":"o","env":{"BIG":""#
            let suffix = #""}}"#
            let body = Array((prefix + String(repeating: "x", count: Self.bodyBytes - prefix.utf8.count - suffix.utf8.count) + suffix).utf8)
            #expect(body.count == Self.bodyBytes)

            let forged = try RawConnection(port: spawner.port)
            let forgedHeaders = signer.headers(method: "POST", pathWithQuery: "/v1/sessions", body: Array("other".utf8), nowMs: Self.nowMs)
            let forgedSent = forged.send(Self.head(headers: forgedHeaders)) && forged.send(body)
            #expect(forgedSent)
            let refused = try #require(try forged.readHead())
            #expect(refused.status == 401)
            #expect(refused.headers["connection"] == "close")
            #expect(forged.waitForClose())

            let real = try RawConnection(port: spawner.port)
            let realSent = real.send(Self.head(headers: signer.headers(method: "POST", pathWithQuery: "/v1/sessions", body: body, nowMs: Self.nowMs)))
                && real.send(body)
            #expect(realSent)
            let answered = try #require(try real.readHead())
            #expect(answered.status == 400)
            #expect(answered.headers["connection"] != "close")
        }
    }
}
