import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import RunnerProtocol
import Testing

/// Requests signed (or not) by hand, to break one rule at a time.
struct SignatureProbe {
    let spawner: SpawnerProcess

    static var nowMs: Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// Sends `sentPath`/`sentBody` with headers computed over `signedPath`/`signedBody` (with
    /// `X-Spawner-Content-SHA256`, as `HMACSigner.headers` makes them).
    func send(
        _ method: HTTPMethod = .GET, signedPath: String = "/v1/sessions", sentPath: String? = nil, signedBody: [UInt8] = [],
        sentBody: [UInt8]? = nil, timestampMs: Int64? = nil, secret: String? = nil,
        headers: [(String, String)]? = nil
    ) async throws -> (status: Int, body: ErrorBody?) {
        var request = HTTPClientRequest(url: spawner.baseURL + (sentPath ?? signedPath))
        request.method = method
        let signer = HMACSigner(secret: Array((secret ?? spawner.secret).utf8))
        // A timestamp of its own unless given: a signature is accepted once.
        let signed = headers ?? signer.headers(method: method.rawValue, pathWithQuery: signedPath, body: signedBody, nowMs: timestampMs ?? SigningClock.shared.next())
        for (name, value) in signed { request.headers.add(name: name, value: value) }
        let body = sentBody ?? signedBody
        if !body.isEmpty { request.body = .bytes(body) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), try? WireJSON.decode(ErrorBody.self, from: bytes.readableBytesView))
    }
}

/// The contract's HMAC rules against the real binary, each violation a test of its own.
@Suite(.timeLimit(.minutes(10))) struct SignatureTests {
    static var nowMs: Int64 { SignatureProbe.nowMs }

    func expectUnauthorized(_ answer: (status: Int, body: ErrorBody?), sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(answer.status == 401, sourceLocation: sourceLocation)
        #expect(answer.body?.error == "unauthorized", sourceLocation: sourceLocation)
    }

    @Test func validSignatureIsAccepted() async throws {
        try await withSpawner { (spawner: SpawnerProcess) async throws in
            let probe = SignatureProbe(spawner: spawner)
            #expect(try await probe.send().status == 200)
            #expect(try await probe.send(signedPath: "/v1/sessions?orgId=org-a").status == 200)
            // Four minutes of skew either way is inside the window.
            #expect(try await probe.send(timestampMs: Self.nowMs - 4 * 60_000).status == 200)
            #expect(try await probe.send(timestampMs: Self.nowMs + 4 * 60_000).status == 200)
        }
    }

    @Test func missingSignatureIs401() async throws {
        try await withSpawner { (spawner: SpawnerProcess) async throws in
            let probe = SignatureProbe(spawner: spawner)
            expectUnauthorized(try await probe.send(headers: []))
            let timestampOnly = [(HMACSigner.timestampHeader, String(Self.nowMs))]
            expectUnauthorized(try await probe.send(headers: timestampOnly))
            let signatureOnly = [(HMACSigner.signatureHeader, "v1=" + String(repeating: "0", count: 64))]
            expectUnauthorized(try await probe.send(headers: signatureOnly))
        }
    }

    @Test func staleTimestampIs401() async throws {
        try await withSpawner { (spawner: SpawnerProcess) async throws in
            let probe = SignatureProbe(spawner: spawner)
            expectUnauthorized(try await probe.send(timestampMs: Self.nowMs - 6 * 60_000))
        }
    }

    @Test func futureTimestampIs401() async throws {
        try await withSpawner { (spawner: SpawnerProcess) async throws in
            let probe = SignatureProbe(spawner: spawner)
            expectUnauthorized(try await probe.send(timestampMs: Self.nowMs + 6 * 60_000))
        }
    }

    @Test func malformedTimestampIs401() async throws {
        try await withSpawner { (spawner: SpawnerProcess) async throws in
            let probe = SignatureProbe(spawner: spawner)
            let signer = HMACSigner(secret: Array(spawner.secret.utf8))
            let signature = signer.signature(method: "GET", pathWithQuery: "/v1/sessions", timestampMs: Self.nowMs, body: [])
            expectUnauthorized(try await probe.send(headers: [(HMACSigner.timestampHeader, "soon"), (HMACSigner.signatureHeader, signature)]))
        }
    }

    @Test func tamperedBodyIs401() async throws {
        try await withSpawner { (spawner: SpawnerProcess) async throws in
            let probe = SignatureProbe(spawner: spawner)
            let signedBody = Array(#"{"owner":{"kind":"user","id":"a"},"orgId":"o"}"#.utf8)
            let sentBody = Array(#"{"owner":{"kind":"user","id":"b"},"orgId":"o"}"#.utf8)
            expectUnauthorized(try await probe.send(.POST, signedBody: signedBody, sentBody: sentBody))
            // Without the digest header the signature itself does not match the body.
            let legacy = HMACSigner(secret: Array(spawner.secret.utf8))
                .headers(method: "POST", pathWithQuery: "/v1/sessions", body: signedBody, nowMs: SigningClock.shared.next())
                .filter { $0.0 != HMACSigner.contentDigestHeader }
            expectUnauthorized(try await probe.send(.POST, signedBody: signedBody, sentBody: sentBody, headers: legacy))
            // Nothing was created.
            #expect(try await spawner.client.listSessions().isEmpty)
        }
    }

    @Test func tamperedPathIs401() async throws {
        try await withSpawner { (spawner: SpawnerProcess) async throws in
            let probe = SignatureProbe(spawner: spawner)
            expectUnauthorized(try await probe.send(signedPath: "/v1/sessions?orgId=a", sentPath: "/v1/sessions?orgId=b"))
            expectUnauthorized(try await probe.send(signedPath: "/v1/sessions", sentPath: "/v1/sessions?orgId=b"))
            expectUnauthorized(try await probe.send(signedPath: "/v1/sessions/a", sentPath: "/v1/sessions/b"))
        }
    }

    @Test func tamperedMethodIs401() async throws {
        try await withSpawner { (spawner: SpawnerProcess) async throws in
            let probe = SignatureProbe(spawner: spawner)
            let signer = HMACSigner(secret: Array(spawner.secret.utf8))
            let headers = signer.headers(method: "GET", pathWithQuery: "/v1/sessions/x", body: [], nowMs: Self.nowMs)
            expectUnauthorized(try await probe.send(.DELETE, signedPath: "/v1/sessions/x", headers: headers))
        }
    }

    @Test func wrongSecretIs401() async throws {
        try await withSpawner { (spawner: SpawnerProcess) async throws in
            let probe = SignatureProbe(spawner: spawner)
            expectUnauthorized(try await probe.send(secret: TestPaths.makeSecret()))
        }
    }

    @Test func garbledSignatureIs401() async throws {
        try await withSpawner { (spawner: SpawnerProcess) async throws in
            let probe = SignatureProbe(spawner: spawner)
            let headers = [(HMACSigner.timestampHeader, String(Self.nowMs)), (HMACSigner.signatureHeader, "v1=zz")]
            expectUnauthorized(try await probe.send(headers: headers))
        }
    }

    @Test func openRoutesNeedNoSignature() async throws {
        try await withSpawner { (spawner: SpawnerProcess) async throws in
            #expect(try await spawner.openGET("/healthz").status == 200)
            #expect(try await spawner.openGET("/metrics").status == 200)
        }
    }
}
