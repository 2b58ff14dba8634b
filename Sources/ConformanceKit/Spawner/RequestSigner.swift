#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Crypto

/// The spawner's request signature (contract §2), computed here from the contract's text:
/// `v1=` + hex(HMAC-SHA256(secret, METHOD \n PATH_WITH_QUERY \n TIMESTAMP \n hex(SHA256(body)))).
public struct RequestSigner: Sendable {
    let key: SymmetricKey

    public init(secret: [UInt8]) { key = SymmetricKey(data: secret) }

    public static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in bytes { out += [digits[Int(b >> 4)], digits[Int(b & 15)]] }
        return String(decoding: out, as: UTF8.self)
    }

    public func signature(method: String, pathWithQuery: String, timestampMs: Int64, body: [UInt8]) -> String {
        let canonical = "\(method)\n\(pathWithQuery)\n\(timestampMs)\n\(Self.hex(SHA256.hash(data: body)))"
        return "v1=" + Self.hex(HMAC<SHA256>.authenticationCode(for: Array(canonical.utf8), using: key))
    }
}

/// Timestamps for signing: epoch ms, strictly increasing, so that no two requests of a run
/// carry the same signature (a v1.2 spawner accepts a signature once).
public actor SigningClock {
    var last: Int64 = 0
    public init() {}

    public func next() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let ms = Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
        last = max(ms, last + 1)
        return last
    }
}
