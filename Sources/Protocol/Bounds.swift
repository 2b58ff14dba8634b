/// The ranges of the numbers a client sends (contract §3 "Bounds"): each is checked where it is
/// decoded, and a number outside its range is a `400`, never a crash or a stored record that
/// fails to load.
public enum Bounds {
    /// `timeoutMs` of an exec: at most 30 days (`0` means no deadline).
    public static let timeoutMs: ClosedRange<Int64> = 0...2_592_000_000
    /// `stdoutMaxBytes` / `stderrMaxBytes` (`0` means unlimited).
    public static let outputCapBytes: ClosedRange<Int64> = 0...Int64.max
    /// `killGraceMs` of an exec (and `RUNNERD_KILL_GRACE_MS`): at most 10 minutes.
    public static let killGraceMs: ClosedRange<Int64> = 0...600_000
    /// `ttlMs` of a session: at most 30 days.
    public static let ttlMs: ClosedRange<Int64> = 1...2_592_000_000
    /// `idleTimeoutMs` of a session (`0` means never idle): at most 30 days.
    public static let idleTimeoutMs: ClosedRange<Int64> = 0...2_592_000_000

    /// A sequence number as a client writes it (`sinceSeq`, `Last-Event-ID`): one or more ASCII
    /// digits. Any non-negative integer is valid; one past `UInt64.max` means the same as
    /// `UInt64.max` (past every seq an exec can reach), so the value saturates. nil for anything
    /// that is not a non-negative integer (empty, a sign, spaces, other characters).
    public static func sequenceNumber(_ text: some StringProtocol) -> UInt64? {
        var value: UInt64 = 0
        var digits = 0
        for byte in text.utf8 {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            digits += 1
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            value = overflow1 || overflow2 ? .max : sum
        }
        return digits > 0 ? value : nil
    }
}

/// A number in a request outside the range its field allows: a `400` with this message.
public struct OutOfRange: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String

    public init(field: String, range: ClosedRange<Int64>) {
        message = "\(field) must be an integer in \(range.lowerBound)...\(range.upperBound)"
    }

    public var description: String { message }
}

extension KeyedDecodingContainer {
    /// Decodes an integer field that must lie in `range`. A JSON number outside it — negative,
    /// too large for 64 bits, fractional, `1e308` — throws `OutOfRange`; a value of another JSON
    /// type is a `DecodingError` like any type mismatch.
    public func decodeInteger(_ key: Key, in range: ClosedRange<Int64>) throws -> Int64 {
        let value: Int64
        do {
            value = try decode(Int64.self, forKey: key)
        } catch let error as DecodingError {
            // A number that Int64 cannot hold is `dataCorrupted`; anything else (a string, an
            // array, a missing key) is the caller's to report.
            guard case .dataCorrupted = error else { throw error }
            throw OutOfRange(field: fieldName(key), range: range)
        } catch {
            // FoundationEssentials' decoder reports a number that Int64 cannot hold (`1e308`,
            // `1.5`, `2^64`) with an error of its own, here, before wrapping it.
            throw OutOfRange(field: fieldName(key), range: range)
        }
        guard range.contains(value) else { throw OutOfRange(field: fieldName(key), range: range) }
        return value
    }

    /// `decodeInteger` for an optional field (absent or `null` is nil).
    public func decodeIntegerIfPresent(_ key: Key, in range: ClosedRange<Int64>) throws -> Int64? {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        return try decodeInteger(key, in: range)
    }

    /// `key` with the path to it (`files.0.size`).
    private func fieldName(_ key: Key) -> String {
        (codingPath + [key]).map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
    }
}
