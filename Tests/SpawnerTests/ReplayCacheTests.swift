import NIOCore
import Testing

@testable import SpawnerCore

/// The memory of accepted signatures (contract v1.2 §4: a signed request works once) and the
/// per-address body budget, as units; end to end in `ReplayTests` and `SignatureFloodTests`.
@Suite(.timeLimit(.minutes(1))) struct ReplayCacheTests {
    static func signature(_ seed: UInt8) -> [UInt8] { (0..<32).map { UInt8(truncatingIfNeeded: Int($0) &* 31 &+ Int(seed)) } }

    @Test func aSignatureIsAcceptedOnceWhileItsTimestampIsValid() {
        let cache = ReplayCache(capacity: 10)
        let now: Int64 = 1_700_000_000_000
        #expect(cache.admit(Self.signature(1), expiresAtMs: now + 300_000, nowMs: now) == .fresh)
        #expect(cache.admit(Self.signature(1), expiresAtMs: now + 300_000, nowMs: now + 1) == .replayed)
        #expect(cache.admit(Self.signature(2), expiresAtMs: now + 300_000, nowMs: now + 1) == .fresh)
        // Until its expiry, inclusive: refused.
        #expect(cache.admit(Self.signature(1), expiresAtMs: now + 300_000, nowMs: now + 300_000) == .replayed)
        // Once expired it is forgotten (the timestamp check refuses such a request anyway).
        #expect(cache.admit(Self.signature(1), expiresAtMs: now + 700_000, nowMs: now + 301_000) == .fresh)
        #expect(cache.count == 1, "signature 2 was swept with its second")
    }

    @Test func fullMeansRefusedNotForgotten() {
        let cache = ReplayCache(capacity: 3)
        let now: Int64 = 50_000
        for seed in UInt8(0)..<3 { #expect(cache.admit(Self.signature(seed), expiresAtMs: now + 1_000 * Int64(seed + 1), nowMs: now) == .fresh) }
        #expect(cache.admit(Self.signature(9), expiresAtMs: now + 5_000, nowMs: now) == .full)
        // Still remembered while full.
        #expect(cache.admit(Self.signature(0), expiresAtMs: now + 1_000, nowMs: now + 10) == .replayed)
        // The first expiry frees one place, and only one (swept by whole seconds: once the
        // second it expired in is over).
        #expect(cache.admit(Self.signature(9), expiresAtMs: now + 5_000, nowMs: now + 2_100) == .fresh)
        #expect(cache.admit(Self.signature(8), expiresAtMs: now + 5_000, nowMs: now + 2_100) == .full)
        #expect(cache.admit(Self.signature(2), expiresAtMs: now + 3_000, nowMs: now + 2_100) == .replayed)
        // Long idle: everything expired is swept at the next admission.
        #expect(cache.admit(Self.signature(7), expiresAtMs: now + 86_400_000 + 1_000, nowMs: now + 86_400_000) == .fresh)
        #expect(cache.count == 1)
    }

    @Test func sweepsOnlyWhatExpired() {
        let cache = ReplayCache(capacity: 100_000)
        var now: Int64 = 1_000_000
        // One a millisecond for 20 s, each valid for 5 s: about 5,000 live at a time.
        for index in 0..<20_000 {
            var signature = [UInt8](repeating: 0, count: 32)
            signature[0] = UInt8(index >> 8)
            signature[1] = UInt8(index & 0xFF)
            #expect(cache.admit(signature, expiresAtMs: now + 5_000, nowMs: now) == .fresh)
            now += 1
        }
        #expect((5_000...6_000).contains(cache.count), "\(cache.count)")
        var first = [UInt8](repeating: 0, count: 32)
        first[1] = 0
        #expect(cache.admit(first, expiresAtMs: now + 5_000, nowMs: now) == .fresh, "the first expired long ago")
        var last = [UInt8](repeating: 0, count: 32)
        last[0] = UInt8(19_999 >> 8)
        last[1] = UInt8(19_999 & 0xFF)
        #expect(cache.admit(last, expiresAtMs: now + 5_000, nowMs: now) == .replayed)
    }

    @Test func bodyBudgetHasAShareByAddress() throws {
        let budget = BodyBudget(limit: 10, perClientLimit: 4)
        let a = ClientKey(try SocketAddress(ipAddress: "127.0.0.1", port: 1))
        let aOtherPort = ClientKey(try SocketAddress(ipAddress: "127.0.0.1", port: 2))
        let b = ClientKey(try SocketAddress(ipAddress: "127.0.0.2", port: 1))
        #expect(a == aOtherPort)
        #expect(budget.reserve(3, for: a))
        #expect(!budget.reserve(2, for: aOtherPort), "past the address's share")
        #expect(budget.reserve(4, for: b))
        #expect(budget.reserve(1, for: a))
        let c = ClientKey(try SocketAddress(ipAddress: "127.0.0.3", port: 1))
        #expect(budget.reserve(2, for: c))
        #expect(!budget.reserve(1, for: ClientKey(try SocketAddress(ipAddress: "127.0.0.4", port: 1))), "past the whole budget")
        budget.release(3, for: a)
        #expect(budget.reserve(3, for: aOtherPort))
        #expect(budget.inUse == 10)
        // IPv6: by /64; IPv4-mapped as IPv4.
        #expect(ClientKey(try SocketAddress(ipAddress: "2001:db8::1", port: 1)) == ClientKey(try SocketAddress(ipAddress: "2001:db8::2", port: 1)))
        #expect(ClientKey(try SocketAddress(ipAddress: "2001:db8::1", port: 1)) != ClientKey(try SocketAddress(ipAddress: "2001:db8:0:1::1", port: 1)))
        #expect(ClientKey(try SocketAddress(ipAddress: "::ffff:127.0.0.1", port: 1)) == a)
        #expect(ClientKey(try SocketAddress(ipAddress: "::ffff:127.0.0.2", port: 1)) != a)
    }
}
