/// Arithmetic on clocks and counters that pins to the type's range instead of trapping.
///
/// A value a client or a peer sent (a TTL, a timestamp, a `lastActivityAtMs`) can be anything
/// in its type's range; a sum or a difference of two of them must never overflow — an overflow
/// traps, and a trap takes the daemon down. Use these wherever such a value meets a clock.
extension FixedWidthInteger {
    /// `self + other`, or the type's bound it would have crossed.
    @inlinable
    public func addingSaturated(_ other: Self) -> Self {
        let (sum, overflow) = addingReportingOverflow(other)
        guard overflow else { return sum }
        return other < 0 ? .min : .max
    }

    /// `self - other`, or the type's bound it would have crossed.
    @inlinable
    public func subtractingSaturated(_ other: Self) -> Self {
        let (difference, overflow) = subtractingReportingOverflow(other)
        guard overflow else { return difference }
        return other < 0 ? .max : .min
    }
}
