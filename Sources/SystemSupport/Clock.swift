import Glibc

/// The clocks runnerd reads: wall time for the contract, boot time for process start times.
extension Syscall {
    /// Nanoseconds since boot (`CLOCK_BOOTTIME`, the clock of a process's start time).
    public static func bootTimeNs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_BOOTTIME, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// Wall-clock epoch milliseconds (the contract's time unit).
    public static func nowMs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}
