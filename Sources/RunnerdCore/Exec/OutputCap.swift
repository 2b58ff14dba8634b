/// An exact byte cap on one output stream: exactly `limit` bytes go out, the chunk that
/// crosses it is clipped, and `truncated` records that something was dropped. `0` = unlimited.
public struct OutputCap: Sendable {
    public let limit: Int64
    public private(set) var emitted: Int64 = 0
    public private(set) var truncated = false

    public init(limit: Int64) {
        self.limit = limit
    }

    /// How many of the next `count` bytes may go out.
    public mutating func admit(_ count: Int) -> Int {
        guard limit > 0 else {
            // Unlimited: the count saturates rather than trap after 8 EiB.
            let (sum, overflow) = emitted.addingReportingOverflow(Int64(count))
            emitted = overflow ? .max : sum
            return count
        }
        let allowed = Int(max(0, min(Int64(count), limit - emitted)))
        emitted += Int64(allowed)
        if allowed < count { truncated = true }
        return allowed
    }
}
