import Foundation
import RunnerProtocol
import Testing

/// Expected values computed independently with Python:
///   hmac.new(b"s3cr3t-key", canonical.encode(), hashlib.sha256).hexdigest()
@Suite(.timeLimit(.minutes(2))) struct HMACSignerTests {
    static let secret = Array("s3cr3t-key".utf8)
    static let body = Array(#"{"sessionId":"abc"}"#.utf8)
    static let now: Int64 = 1_700_000_000_000
    let signer = HMACSigner(secret: HMACSignerTests.secret)

    static func rejection(_ result: Result<Void, HMACSigner.Rejection>) -> HMACSigner.Rejection? {
        if case .failure(let rejection) = result { return rejection }
        return nil
    }

    @Test func canonicalStringFormat() {
        let canonical = HMACSigner.canonical(method: "post", pathWithQuery: "/v1/sessions?wait=1", timestampMs: Self.now, body: Self.body)
        #expect(canonical == "POST\n/v1/sessions?wait=1\n1700000000000\n74e60a9b3febdefa271598fe5db74350ffdd6a68c5896e678f0c2a432af922f9")
    }

    @Test func knownAnswerSignatures() {
        #expect(signer.signature(method: "POST", pathWithQuery: "/v1/sessions?wait=1", timestampMs: Self.now, body: Self.body)
            == "v1=590b81a39f087ea65e6a645d6c98051d75675f8e8b9db63704f1584475139f4c")
        #expect(signer.signature(method: "GET", pathWithQuery: "/v1/sessions", timestampMs: Self.now, body: [UInt8]())
            == "v1=0ed53d1e6944bdcdfd5b31254698d1836fc0625d10cdd9c7ea5421502d5e1992")
    }

    @Test func knownAnswerRunnerdTokens() {
        #expect(signer.runnerdToken(sessionId: "sess-1", nonce: nil) == "fd6d55ae27e7c4d8105d52ed4df8588f4f99553a9b6724f580cae3047bb2e045")
        #expect(signer.runnerdToken(sessionId: "sess-2", nonce: nil) == "6ddf418d46d1d52b688cd680ec0fce373ca856244f9b9490243aee7738ef1e55")
        #expect(HMACSigner(secret: Array("Jefe".utf8)).runnerdToken(sessionId: "x", nonce: nil)
            == "f27698b6c8f1179b89e22ceb4f3817ce7c54fdaaf9b188db9af27b816af1d763")
    }

    /// Contract §4: hex(HMAC(secret, "runnerd-token:" + id + ":" + nonce)), computed independently
    /// (Python's hmac); a re-created id with a new nonce never has the earlier token.
    @Test func knownAnswerNoncedRunnerdTokens() {
        let jefe = HMACSigner(secret: Array("Jefe".utf8))
        #expect(jefe.runnerdToken(sessionId: "x", nonce: "00112233445566778899aabbccddeeff")
            == "456354bf5fdd83ee0403773f95ddcd1f8ba5f9a0a5305c829386d927666347d9")
        let first = HMACSigner.makeNonce()
        let second = HMACSigner.makeNonce()
        #expect(first != second)
        #expect(HMACSigner.isWellFormedNonce(first) && first.utf8.count == 32)
        #expect(jefe.runnerdToken(sessionId: "x", nonce: first) != jefe.runnerdToken(sessionId: "x", nonce: second))
        #expect(jefe.runnerdToken(sessionId: "x", nonce: first) != jefe.runnerdToken(sessionId: "x", nonce: nil))
        #expect(!HMACSigner.isWellFormedNonce("00112233"))
        #expect(!HMACSigner.isWellFormedNonce("00112233445566778899AABBCCDDEEFF"))
        #expect(!HMACSigner.isWellFormedNonce("0011223344556677889-aabbccddeeff"))
    }

    /// Contract §4: proof = hex(HMAC(token, challenge)), the token's and the challenge's text as
    /// bytes, computed independently (Python's hmac).
    @Test func knownAnswerReadinessProof() {
        let token = Array("f27698b6c8f1179b89e22ceb4f3817ce7c54fdaaf9b188db9af27b816af1d763".utf8)
        let proof = ReadinessChallenge.proof(token: token, challenge: "0123456789abcdef")
        #expect(proof == "7e0f1939fc6d5f87b01a734bfbcd3ddeb3dfbcc9878ff2df9895a6a78a8a778c")
        #expect(ReadinessChallenge.verify(proof: proof, token: token, challenge: "0123456789abcdef"))
        #expect(!ReadinessChallenge.verify(proof: proof, token: Array("other".utf8), challenge: "0123456789abcdef"))
        #expect(!ReadinessChallenge.verify(proof: proof, token: token, challenge: "0123456789abcdee"))
        #expect(ReadinessChallenge.isValid(ReadinessChallenge.make()))
        #expect(ReadinessChallenge.isValid(String(repeating: "a", count: 16)) && ReadinessChallenge.isValid(String(repeating: "F", count: 128)))
        #expect(!ReadinessChallenge.isValid(String(repeating: "a", count: 15)))
        #expect(!ReadinessChallenge.isValid(String(repeating: "a", count: 129)))
        #expect(!ReadinessChallenge.isValid("0123456789abcdeg"))
    }

    @Test func runnerdTokenIsDeterministicHexAndPerSession() {
        let a = signer.runnerdToken(sessionId: "sess-a", nonce: nil)
        #expect(a == HMACSigner(secret: Self.secret).runnerdToken(sessionId: "sess-a", nonce: nil))
        #expect(a.utf8.count == 64)
        #expect(a.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) })
        #expect(a != signer.runnerdToken(sessionId: "sess-b", nonce: nil))
        #expect(a != HMACSigner(secret: Array("other".utf8)).runnerdToken(sessionId: "sess-a", nonce: nil))
    }

    @Test func headersCarryTimestampAndSignature() throws {
        let headers = signer.headers(method: "POST", pathWithQuery: "/v1/x", body: Self.body, nowMs: Self.now)
        let dict = Dictionary(uniqueKeysWithValues: headers)
        #expect(dict.count == 2)
        #expect(dict[HMACSigner.timestampHeader] == "1700000000000")
        #expect(dict[HMACSigner.signatureHeader] == signer.signature(method: "POST", pathWithQuery: "/v1/x", timestampMs: Self.now, body: Self.body))
        #expect(HMACSigner.timestampHeader == "X-Spawner-Timestamp")
        #expect(HMACSigner.signatureHeader == "X-Spawner-Signature")
    }

    func verify(method: String = "POST", path: String = "/v1/sessions?wait=1", timestamp: String?, signature: String?,
                body: [UInt8] = HMACSignerTests.body, now: Int64 = HMACSignerTests.now, signer: HMACSigner? = nil)
        -> HMACSigner.Rejection?
    {
        Self.rejection((signer ?? self.signer).verify(method: method, pathWithQuery: path, timestampHeader: timestamp,
                                                     signatureHeader: signature, body: body, nowMs: now))
    }

    func sign(method: String = "POST", path: String = "/v1/sessions?wait=1", at ms: Int64 = HMACSignerTests.now,
              body: [UInt8] = HMACSignerTests.body) -> String
    {
        signer.signature(method: method, pathWithQuery: path, timestampMs: ms, body: body)
    }

    @Test func freshSignatureIsAccepted() {
        let result = signer.verify(method: "POST", pathWithQuery: "/v1/sessions?wait=1", timestampHeader: String(Self.now),
                                   signatureHeader: sign(), body: Self.body, nowMs: Self.now + 1_000)
        guard case .success = result else {
            Issue.record("fresh signature rejected: \(result)")
            return
        }
        // Method case does not matter: the canonical form upper-cases it.
        #expect(verify(method: "post", timestamp: String(Self.now), signature: sign()) == nil)
    }

    @Test func missingHeadersAreRejected() {
        #expect(verify(timestamp: nil, signature: sign()) == .missing)
        #expect(verify(timestamp: String(Self.now), signature: nil) == .missing)
        #expect(verify(timestamp: nil, signature: nil) == .missing)
    }

    @Test func skewBoundaries() {
        let skew = HMACSigner.maxSkewMs
        #expect(skew == 300_000)
        let old = Self.now - skew
        #expect(verify(timestamp: String(old), signature: sign(at: old)) == nil)
        #expect(verify(timestamp: String(old - 1), signature: sign(at: old - 1)) == .stale)
        #expect(verify(timestamp: String(Self.now - 3_600_000), signature: sign(at: Self.now - 3_600_000)) == .stale)
        let ahead = Self.now + skew
        #expect(verify(timestamp: String(ahead), signature: sign(at: ahead)) == nil)
        #expect(verify(timestamp: String(ahead + 1), signature: sign(at: ahead + 1)) == .future)
        #expect(verify(timestamp: String(Self.now + 3_600_000), signature: sign(at: Self.now + 3_600_000)) == .future)
    }

    @Test func tamperingIsRejected() {
        let ts = String(Self.now)
        let good = sign()
        #expect(verify(timestamp: ts, signature: good, body: Array(#"{"sessionId":"abd"}"#.utf8)) == .badSignature)
        #expect(verify(timestamp: ts, signature: good, body: []) == .badSignature)
        #expect(verify(path: "/v1/sessions?wait=2", timestamp: ts, signature: good) == .badSignature)
        #expect(verify(path: "/v1/sessions", timestamp: ts, signature: good) == .badSignature)
        #expect(verify(method: "PUT", timestamp: ts, signature: good) == .badSignature)
        #expect(verify(method: "GET", timestamp: ts, signature: good) == .badSignature)
        // A signature made for another timestamp does not transfer.
        #expect(verify(timestamp: String(Self.now + 1), signature: good) == .badSignature)
    }

    @Test func wrongSecretIsRejected() {
        let other = HMACSigner(secret: Array("s3cr3t-kez".utf8))
        #expect(verify(timestamp: String(Self.now), signature: sign(), signer: other) == .badSignature)
    }

    @Test func mangledSignaturesAreRejected() {
        let ts = String(Self.now)
        let good = sign()
        #expect(verify(timestamp: ts, signature: String(good.dropFirst(3))) == .badSignature)
        #expect(verify(timestamp: ts, signature: good.uppercased()) == .badSignature)
        #expect(verify(timestamp: ts, signature: good + "0") == .badSignature)
        #expect(verify(timestamp: ts, signature: String(good.dropLast())) == .badSignature)
        #expect(verify(timestamp: ts, signature: "") == .badSignature)
    }

    @Test(arguments: ["", "abc", "1.7e12", "1700000000000.0", " 1700000000000", "0x10", "99999999999999999999"])
    func malformedTimestampIsRejected(_ timestamp: String) {
        #expect(verify(timestamp: timestamp, signature: sign()) == .malformedTimestamp)
    }

    @Test func farFutureTimestampIsFuture() {
        #expect(verify(timestamp: String(Int64.max), signature: sign()) == .future)
    }

    /// An attacker-controlled `X-Spawner-Timestamp` of Int64.min must be rejected as stale, not
    /// trap on `nowMs - timestamp` overflowing (which would crash the verifying process).
    @Test func extremePastTimestampIsStaleWithoutTrapping() async {
        await #expect(processExitsWith: .success) {
            let signer = HMACSigner(secret: Array("k".utf8))
            let result = signer.verify(
                method: "GET", pathWithQuery: "/v1/sessions", timestampHeader: String(Int64.min),
                signatureHeader: "v1=00", body: [UInt8](), nowMs: 1_700_000_000_000)
            guard case .failure(.stale) = result else { exit(3) }
        }
    }
}
