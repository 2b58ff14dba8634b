import Synchronization

/// Bytes of request bodies that are being read before their signature can be checked, across
/// every connection. The HMAC covers the body, so a request with a well-formed signature
/// header must be read whole before it can be refused; the budget bounds what such requests
/// (forged ones included) can make the spawner hold at once, whatever the connection count.
final class BodyBudget: Sendable {
    let limit: Int
    private let used = Atomic<Int>(0)

    init(limit: Int) {
        self.limit = limit
    }

    /// Takes `bytes` of the budget; false (nothing taken) when they do not fit.
    func reserve(_ bytes: Int) -> Bool {
        guard bytes > 0 else { return true }
        var current = used.load(ordering: .relaxed)
        while true {
            guard bytes <= limit - current else { return false }
            let (exchanged, original) = used.compareExchange(expected: current, desired: current + bytes, ordering: .acquiringAndReleasing)
            if exchanged { return true }
            current = original
        }
    }

    func release(_ bytes: Int) {
        guard bytes > 0 else { return }
        used.subtract(bytes, ordering: .acquiringAndReleasing)
    }

    var inUse: Int { used.load(ordering: .relaxed) }
}
