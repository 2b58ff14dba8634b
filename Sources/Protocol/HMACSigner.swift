import Crypto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// HMAC-SHA256 request signing of the spawner API, and the per-session runnerd token.
///
/// Signature: `v1=` + hex(HMAC(secret, METHOD \n PATH_WITH_QUERY \n TIMESTAMP \n hex(SHA256(body)))).
/// The server and every client use this one implementation.
public struct HMACSigner: Sendable {
    public static let timestampHeader = "X-Spawner-Timestamp"
    public static let signatureHeader = "X-Spawner-Signature"
    /// How far a timestamp may be from the verifier's clock.
    public static let maxSkewMs: Int64 = 5 * 60 * 1000

    private let key: SymmetricKey

    public init(secret: some Collection<UInt8>) {
        self.key = SymmetricKey(data: Array(secret))
    }

    /// The canonical string that is signed.
    public static func canonical(method: String, pathWithQuery: String, timestampMs: Int64, body: some Collection<UInt8>) -> String {
        let bodyDigest = Digest.sha256Hex(body)
        return "\(method.uppercased())\n\(pathWithQuery)\n\(timestampMs)\n\(bodyDigest)"
    }

    /// The `X-Spawner-Signature` value for a request.
    public func signature(method: String, pathWithQuery: String, timestampMs: Int64, body: some Collection<UInt8>) -> String {
        let message = Self.canonical(method: method, pathWithQuery: pathWithQuery, timestampMs: timestampMs, body: body)
        return "v1=" + Self.hex(HMAC<SHA256>.authenticationCode(for: Array(message.utf8), using: key))
    }

    /// Both headers for a request signed now.
    public func headers(method: String, pathWithQuery: String, body: some Collection<UInt8>, nowMs: Int64) -> [(String, String)] {
        [
            (Self.timestampHeader, String(nowMs)),
            (Self.signatureHeader, signature(method: method, pathWithQuery: pathWithQuery, timestampMs: nowMs, body: body)),
        ]
    }

    /// Why a request's signature was not accepted.
    public enum Rejection: Error, Equatable, Sendable {
        case missing, malformedTimestamp, stale, future, badSignature
    }

    /// What a request's head claims, checked before a byte of its body is read (`claim`): both
    /// headers, a timestamp inside the window, a signature of the right shape. Only the body
    /// can prove it (`verify(_:method:pathWithQuery:body:)`).
    public struct Claim: Sendable {
        public let timestampMs: Int64
        let signature: String
    }

    /// The head's part of the checks: everything that does not need the body.
    public func claim(timestampHeader: String?, signatureHeader: String?, nowMs: Int64) -> Result<Claim, Rejection> {
        guard let timestampHeader, let signatureHeader else { return .failure(.missing) }
        guard let timestamp = Int64(timestampHeader) else { return .failure(.malformedTimestamp) }
        // Overflow-safe: a timestamp of Int64.min must be "stale", not a trap.
        let (age, overflow) = nowMs.subtractingReportingOverflow(timestamp)
        if overflow { return .failure(age < 0 ? .stale : .future) }
        if age > Self.maxSkewMs { return .failure(.stale) }
        if age < -Self.maxSkewMs { return .failure(.future) }
        guard Self.isWellFormed(signatureHeader) else { return .failure(.badSignature) }
        return .success(Claim(timestampMs: timestamp, signature: signatureHeader))
    }

    /// The body's part: the claimed signature against the expected one, in constant time.
    public func verify(_ claim: Claim, method: String, pathWithQuery: String, body: some Collection<UInt8>) -> Result<Void, Rejection> {
        let expected = signature(method: method, pathWithQuery: pathWithQuery, timestampMs: claim.timestampMs, body: body)
        guard ConstantTime.equals(Array(expected.utf8), Array(claim.signature.utf8)) else { return .failure(.badSignature) }
        return .success(())
    }

    /// Checks a request's headers in constant time against the expected signature.
    public func verify(
        method: String, pathWithQuery: String, timestampHeader: String?, signatureHeader: String?,
        body: some Collection<UInt8>, nowMs: Int64
    ) -> Result<Void, Rejection> {
        claim(timestampHeader: timestampHeader, signatureHeader: signatureHeader, nowMs: nowMs)
            .flatMap { verify($0, method: method, pathWithQuery: pathWithQuery, body: body) }
    }

    /// `v1=` and 64 lowercase hex digits: the only shape a signature can have. (Which digits
    /// is not secret, so this check need not take constant time.)
    static func isWellFormed(_ signature: String) -> Bool {
        let utf8 = signature.utf8
        guard utf8.count == 67, utf8.starts(with: "v1=".utf8) else { return false }
        return utf8.dropFirst(3).allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
    }

    /// The runnerd token of a session (contract §4): hex(HMAC(secret, "runnerd-token:" +
    /// sessionId + ":" + nonce)), so a re-created id never has an earlier session's token.
    /// A session made before nonces (nil) keeps the §2 derivation, hex(HMAC(secret,
    /// "runnerd-token:" + sessionId)).
    public func runnerdToken(sessionId: String, nonce: String?) -> String {
        let message = nonce.map { "runnerd-token:\(sessionId):\($0)" } ?? "runnerd-token:\(sessionId)"
        return Self.hex(HMAC<SHA256>.authenticationCode(for: Array(message.utf8), using: key))
    }

    /// A session's nonce: 128 random bits as 32 hex digits.
    public static func makeNonce() -> String {
        var generator = SystemRandomNumberGenerator()
        return hex((0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }

    /// Whether `nonce` has the shape `makeNonce` gives (32–128 lowercase hex digits): what a
    /// backend reads back from labels is checked before it names a token.
    public static func isWellFormedNonce(_ nonce: String) -> Bool {
        (32...128).contains(nonce.utf8.count)
            && nonce.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Comparison whose time does not depend on where the inputs differ.
public enum ConstantTime {
    public static func equals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        // Compare against a digest of each side so that the length check leaks nothing either.
        let da = Array(SHA256.hash(data: a))
        let db = Array(SHA256.hash(data: b))
        var diff: UInt8 = 0
        for i in 0..<da.count { diff |= da[i] ^ db[i] }
        return diff == 0 && a.count == b.count
    }
}
