import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The timestamps requests are signed with: the clock's time, but never one this clock already
/// gave out. The spawner accepts a signature once (contract v1.2 §4), and two identical
/// requests signed in the same millisecond would carry the same signature; one clock per
/// process (`shared`) makes every signature of the process distinct, retries included (each
/// attempt is signed anew). Past a burst of more than 1,000 requests a second the timestamps
/// run ahead of the clock by the excess, and fall back to it once the burst is over.
public final class SigningClock: Sendable {
    /// Epoch milliseconds, process-wide.
    public static let shared = SigningClock(now: SigningClock.epochMs)

    public static let epochMs: @Sendable () -> Int64 = { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }

    private let now: @Sendable () -> Int64
    private let last = Atomic<Int64>(.min)

    public init(now: @escaping @Sendable () -> Int64) {
        self.now = now
    }

    /// A timestamp for a new signature: now, or one past the last one given out.
    public func next() -> Int64 {
        let time = now()
        var previous = last.load(ordering: .relaxed)
        while true {
            let candidate = time > previous ? time : previous + 1
            let (exchanged, original) = last.compareExchange(expected: previous, desired: candidate, ordering: .relaxed)
            if exchanged { return candidate }
            previous = original
        }
    }
}
