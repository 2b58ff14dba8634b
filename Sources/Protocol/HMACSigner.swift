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
///
/// With `X-Spawner-Content-SHA256` (contract v1.2 §4) the body's hash is on the head: the
/// signature is checked against it before a byte of the body is read (`verifyHead`), then the
/// body against the header (`verifyBody`).
public struct HMACSigner: Sendable {
    public static let timestampHeader = "X-Spawner-Timestamp"
    public static let signatureHeader = "X-Spawner-Signature"
    public static let contentDigestHeader = "X-Spawner-Content-SHA256"
    /// How far a timestamp may be from the verifier's clock.
    public static let maxSkewMs: Int64 = 5 * 60 * 1000

    private let key: SymmetricKey

    public init(secret: some Collection<UInt8>) {
        self.key = SymmetricKey(data: Array(secret))
    }

    /// The canonical string that is signed.
    public static func canonical(method: String, pathWithQuery: String, timestampMs: Int64, body: some Collection<UInt8>) -> String {
        canonical(method: method, pathWithQuery: pathWithQuery, timestampMs: timestampMs, bodyDigest: Digest.sha256Hex(body))
    }

    /// The canonical string with the body's hash given (`X-Spawner-Content-SHA256`).
    public static func canonical(method: String, pathWithQuery: String, timestampMs: Int64, bodyDigest: String) -> String {
        "\(method.uppercased())\n\(pathWithQuery)\n\(timestampMs)\n\(bodyDigest)"
    }

    /// The `X-Spawner-Signature` value for a request.
    public func signature(method: String, pathWithQuery: String, timestampMs: Int64, body: some Collection<UInt8>) -> String {
        signature(method: method, pathWithQuery: pathWithQuery, timestampMs: timestampMs, bodyDigest: Digest.sha256Hex(body))
    }

    /// The `X-Spawner-Signature` value for a request whose body hashes to `bodyDigest`.
    public func signature(method: String, pathWithQuery: String, timestampMs: Int64, bodyDigest: String) -> String {
        let message = Self.canonical(method: method, pathWithQuery: pathWithQuery, timestampMs: timestampMs, bodyDigest: bodyDigest)
        return "v1=" + Self.hex(HMAC<SHA256>.authenticationCode(for: Array(message.utf8), using: key))
    }

    /// The headers of a request signed at `nowMs`: timestamp, signature and the body's hash
    /// (`X-Spawner-Content-SHA256`, so that the spawner checks the signature on the head).
    /// Each request needs a timestamp of its own: the spawner accepts a signature once
    /// (`SigningClock` hands out distinct ones).
    public func headers(method: String, pathWithQuery: String, body: some Collection<UInt8>, nowMs: Int64) -> [(String, String)] {
        let digest = Digest.sha256Hex(body)
        return [
            (Self.timestampHeader, String(nowMs)),
            (Self.signatureHeader, signature(method: method, pathWithQuery: pathWithQuery, timestampMs: nowMs, bodyDigest: digest)),
            (Self.contentDigestHeader, digest),
        ]
    }

    /// Why a request's signature was not accepted.
    public enum Rejection: Error, Equatable, Sendable {
        case missing, malformedTimestamp, stale, future, badSignature
        /// `X-Spawner-Content-SHA256` is not 64 lowercase hex digits.
        case malformedContentDigest
        /// The body does not hash to `X-Spawner-Content-SHA256`.
        case contentMismatch
    }

    /// What a request's head claims, checked before a byte of its body is read (`claim`): both
    /// headers, a timestamp inside the window, a signature of the right shape, and the body's
    /// hash if the head carries it. With the hash the head alone proves the signature
    /// (`verifyHead`); without it only the body can (`verify(_:method:pathWithQuery:body:)`).
    public struct Claim: Sendable {
        public let timestampMs: Int64
        let signature: String
        /// `X-Spawner-Content-SHA256`, when sent.
        public let contentDigest: String?

        /// The signature's 32 bytes (it is well-formed: `claim` checked).
        public var signatureBytes: [UInt8] { HMACSigner.unhex(signature.utf8.dropFirst(3)) }
    }

    /// The head's part of the checks: everything that does not need the body.
    public func claim(timestampHeader: String?, signatureHeader: String?, contentDigestHeader: String? = nil, nowMs: Int64) -> Result<Claim, Rejection> {
        guard let timestampHeader, let signatureHeader else { return .failure(.missing) }
        guard let timestamp = Int64(timestampHeader) else { return .failure(.malformedTimestamp) }
        // Overflow-safe: a timestamp of Int64.min must be "stale", not a trap.
        let (age, overflow) = nowMs.subtractingReportingOverflow(timestamp)
        if overflow { return .failure(age < 0 ? .stale : .future) }
        if age > Self.maxSkewMs { return .failure(.stale) }
        if age < -Self.maxSkewMs { return .failure(.future) }
        guard Self.isWellFormed(signatureHeader) else { return .failure(.badSignature) }
        if let contentDigestHeader, !Self.isLowercaseHex(contentDigestHeader.utf8, count: 64) { return .failure(.malformedContentDigest) }
        return .success(Claim(timestampMs: timestamp, signature: signatureHeader, contentDigest: contentDigestHeader))
    }

    /// The head's proof (the claim carries the body's hash): the signature computed with that
    /// hash against the claimed one, in constant time. The body must then match the hash
    /// (`verifyBody`).
    public func verifyHead(_ claim: Claim, method: String, pathWithQuery: String) -> Result<Void, Rejection> {
        guard let digest = claim.contentDigest else { return .failure(.missing) }
        let expected = signature(method: method, pathWithQuery: pathWithQuery, timestampMs: claim.timestampMs, bodyDigest: digest)
        guard ConstantTime.equals(Array(expected.utf8), Array(claim.signature.utf8)) else { return .failure(.badSignature) }
        return .success(())
    }

    /// The body against the hash its head carried (the claim has one: `verifyHead`).
    public func verifyBody(_ claim: Claim, body: some Collection<UInt8>) -> Result<Void, Rejection> {
        guard let digest = claim.contentDigest else { return .failure(.missing) }
        guard Digest.sha256Hex(body) == digest else { return .failure(.contentMismatch) }
        return .success(())
    }

    /// The whole check once the body is in: the signature over the body's hash (with the
    /// head's hash, that the signature covers it and the body matches it), in constant time.
    public func verify(_ claim: Claim, method: String, pathWithQuery: String, body: some Collection<UInt8>) -> Result<Void, Rejection> {
        if claim.contentDigest != nil {
            return verifyHead(claim, method: method, pathWithQuery: pathWithQuery).flatMap { verifyBody(claim, body: body) }
        }
        let expected = signature(method: method, pathWithQuery: pathWithQuery, timestampMs: claim.timestampMs, body: body)
        guard ConstantTime.equals(Array(expected.utf8), Array(claim.signature.utf8)) else { return .failure(.badSignature) }
        return .success(())
    }

    /// Checks a request's headers in constant time against the expected signature.
    public func verify(
        method: String, pathWithQuery: String, timestampHeader: String?, signatureHeader: String?, contentDigestHeader: String? = nil,
        body: some Collection<UInt8>, nowMs: Int64
    ) -> Result<Void, Rejection> {
        claim(timestampHeader: timestampHeader, signatureHeader: signatureHeader, contentDigestHeader: contentDigestHeader, nowMs: nowMs)
            .flatMap { verify($0, method: method, pathWithQuery: pathWithQuery, body: body) }
    }

    /// `v1=` and 64 lowercase hex digits: the only shape a signature can have. (Which digits
    /// is not secret, so this check need not take constant time.)
    static func isWellFormed(_ signature: String) -> Bool {
        let utf8 = signature.utf8
        guard utf8.count == 67, utf8.starts(with: "v1=".utf8) else { return false }
        return isLowercaseHex(utf8.dropFirst(3), count: 64)
    }

    static func isLowercaseHex(_ digits: some Collection<UInt8>, count: Int) -> Bool {
        digits.count == count
            && digits.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
    }

    /// Lowercase hex digits (checked) as bytes.
    static func unhex(_ digits: some Collection<UInt8>) -> [UInt8] {
        func value(_ digit: UInt8) -> UInt8 { digit <= UInt8(ascii: "9") ? digit - UInt8(ascii: "0") : digit - UInt8(ascii: "a") + 10 }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var iterator = digits.makeIterator()
        while let high = iterator.next(), let low = iterator.next() { bytes.append(value(high) << 4 | value(low)) }
        return bytes
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
