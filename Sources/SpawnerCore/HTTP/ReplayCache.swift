import Synchronization

/// The signatures the spawner accepted, each remembered while its timestamp could still be
/// accepted (contract v1.2 §4: a signed request works once). Only signatures that verified
/// enter, so filling it takes the secret.
///
/// Bounded: at most `capacity` signatures. A full cache refuses new requests (`full`: `503`,
/// retry) rather than forgetting one that could still be replayed; it frees itself as the
/// timestamps leave the window (at most 5 minutes after they were accepted, plus the clock
/// skew the window allows). Entries are removed by expiry second, on the next admission.
final class ReplayCache: Sendable {
    enum Verdict: Equatable, Sendable {
        /// Not seen before: now remembered.
        case fresh
        case replayed
        /// `capacity` signatures are remembered and none has expired.
        case full
    }

    /// The first 128 bits of an HMAC-SHA256 (already unpredictable without the secret).
    struct Key: Hashable, Sendable {
        let high: UInt64
        let low: UInt64

        init(_ signature: some Collection<UInt8>) {
            var high: UInt64 = 0
            var low: UInt64 = 0
            for (index, byte) in signature.prefix(16).enumerated() {
                if index < 8 { high = high << 8 | UInt64(byte) } else { low = low << 8 | UInt64(byte) }
            }
            self.high = high
            self.low = low
        }
    }

    private struct State {
        /// Each remembered signature and when it may be forgotten (epoch ms).
        var expiries: [Key: Int64] = [:]
        /// The same signatures by the second they expire in.
        var buckets: [Int64: [Key]] = [:]
        /// Every second before this one has been swept.
        var sweptTo: Int64?
    }

    let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Remembers `signature` until `expiresAtMs` unless it is already remembered (`replayed`)
    /// or the cache is full of live signatures (`full`).
    func admit(_ signature: some Collection<UInt8>, expiresAtMs: Int64, nowMs: Int64) -> Verdict {
        let key = Key(signature)
        return state.withLock { state in
            Self.sweep(&state, nowMs: nowMs)
            if let expiry = state.expiries[key], expiry >= nowMs { return .replayed }
            guard state.expiries.count < capacity else { return .full }
            let expiry = max(expiresAtMs, nowMs)
            state.expiries[key] = expiry
            state.buckets[Self.second(expiry), default: []].append(key)
            return .fresh
        }
    }

    var count: Int { state.withLock { $0.expiries.count } }

    /// Forgets every signature that expired in a second before the current one.
    private static func sweep(_ state: inout State, nowMs: Int64) {
        let current = second(nowMs)
        guard let from = state.sweptTo, from < current else {
            if state.sweptTo == nil { state.sweptTo = current }
            return
        }
        state.sweptTo = current
        guard !state.buckets.isEmpty else { return }
        // Whichever is shorter: the seconds since the last sweep, or the buckets.
        let due: [Int64] =
            current - from <= Int64(state.buckets.count) ? Array(from..<current) : state.buckets.keys.filter { $0 < current }
        for second in due {
            guard let keys = state.buckets.removeValue(forKey: second) else { continue }
            for key in keys where (state.expiries[key] ?? .max) < current * 1000 { state.expiries[key] = nil }
        }
    }

    /// The whole second `ms` falls in.
    private static func second(_ ms: Int64) -> Int64 {
        ms >= 0 ? ms / 1000 : (ms - 999) / 1000
    }
}
