import Glibc

/// A `wait4` status, decoded without the C macros Swift cannot import.
public struct WaitStatus: Equatable, Sendable {
    public let raw: CInt

    public init(raw: CInt) { self.raw = raw }

    /// The signal that killed the process, if it was killed by one.
    public var terminatingSignal: CInt? {
        let low = raw & 0x7F
        return (low != 0 && low != 0x7F) ? low : nil
    }

    /// The exit status, or 128+N for a death by signal N.
    public var exitCode: Int32 {
        if let signal = terminatingSignal { return 128 + signal }
        return (raw >> 8) & 0xFF
    }
}
