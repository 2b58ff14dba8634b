import NIOCore

/// Reads NDJSON event lines back into `ExecEvent`s.
///
/// Lines in `EventWriter`'s canonical form — output (`{"seq":N,"t":"stdout","b64":"…"}`),
/// `start` and `exit` — are decoded directly from the buffer: output lines carry nearly every
/// byte of a stream, and `start`/`exit` are on every exec's round trip, where a general JSON
/// decoder costs more than the rest of the client. Any other line, or one that departs from the
/// canonical form in any way (field order, spacing, escapes, number syntax), goes through
/// `JSONDecoder`, so the result never depends on which path was taken.
public enum EventReader {
    public static func decode(_ line: ByteBuffer) throws -> ExecEvent {
        if let event = line.withUnsafeReadableBytes(decodeCanonical) { return event }
        return try WireJSON.decode(ExecEvent.self, from: line.readableBytesView)
    }

    public static func decode(_ line: some Collection<UInt8>) throws -> ExecEvent {
        try decode(ByteBuffer(bytes: line))
    }

    /// The canonical forms, or nil.
    static func decodeCanonical(_ bytes: UnsafeRawBufferPointer) -> ExecEvent? {
        var cursor = CanonicalCursor(bytes: bytes)
        guard cursor.literal(#"{"seq":"#), let seq = cursor.unsigned(), cursor.literal(#","t":""#) else { return nil }
        if cursor.literal(#"stdout","b64":""#) { return output(&cursor, seq: seq, stderr: false) }
        if cursor.literal(#"stderr","b64":""#) { return output(&cursor, seq: seq, stderr: true) }
        if cursor.literal(#"start","execId":"#) {
            guard let execId = cursor.plainString(), cursor.literal(#","startedAtMs":"#), let startedAtMs = cursor.signed(),
                cursor.literal(#","pid":"#), let pid = cursor.signed().flatMap(Int32.init(exactly:)), cursor.literal("}"), cursor.atEnd
            else { return nil }
            return ExecEvent(seq: seq, .start(.init(execId: execId, startedAtMs: startedAtMs, pid: pid)))
        }
        if cursor.literal(#"exit","exitCode":"#) {
            guard let exitCode = cursor.signed().flatMap(Int32.init(exactly:)), cursor.literal(#","durationMs":"#),
                let durationMs = cursor.signed(), cursor.literal(#","truncated":{"stdout":"#), let stdout = cursor.bool(),
                cursor.literal(#","stderr":"#), let stderr = cursor.bool(), cursor.literal(#"},"timedOut":"#),
                let timedOut = cursor.bool(), cursor.literal(#","cancelled":"#), let cancelled = cursor.bool()
            else { return nil }
            var signal: String?
            var lost: Bool?
            if cursor.literal(#","signal":"#) {
                guard let name = cursor.plainString() else { return nil }
                signal = name
            }
            if cursor.literal(#","lost":"#) {
                guard let value = cursor.bool() else { return nil }
                lost = value
            }
            guard cursor.literal("}"), cursor.atEnd else { return nil }
            return ExecEvent(seq: seq, .exit(.init(
                exitCode: exitCode, durationMs: durationMs, truncated: .init(stdout: stdout, stderr: stderr), timedOut: timedOut,
                cancelled: cancelled, signal: signal, lost: lost)))
        }
        return nil
    }

    private static func output(_ cursor: inout CanonicalCursor, seq: UInt64, stderr: Bool) -> ExecEvent? {
        guard let payload = cursor.base64Payload(), cursor.literal("}"), cursor.atEnd, let decoded = Base64.decode(payload) else { return nil }
        return ExecEvent(seq: seq, stderr ? .stderr(decoded) : .stdout(decoded))
    }

}

/// A forward-only reader of one canonical line: every method consumes on success and returns
/// nil (or false) on anything it does not expect, which sends the line to `JSONDecoder`.
struct CanonicalCursor {
    let bytes: UnsafeRawBufferPointer
    var index = 0

    init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var atEnd: Bool { index == bytes.count }

    private func byte(_ offset: Int) -> UInt8 { bytes[offset] }

    mutating func literal(_ text: StaticString) -> Bool {
        let count = text.utf8CodeUnitCount
        guard index + count <= bytes.count else { return false }
        let start = text.utf8Start
        for offset in 0..<count where byte(index + offset) != start[offset] { return false }
        index += count
        return true
    }

    /// Digits without a leading zero (but "0"), fitting a UInt64.
    mutating func unsigned() -> UInt64? {
        let start = index
        var value: UInt64 = 0
        while index < bytes.count, byte(index) >= UInt8(ascii: "0"), byte(index) <= UInt8(ascii: "9") {
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(byte(index) - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            value = sum
            index += 1
        }
        let length = index - start
        guard length > 0, length == 1 || byte(start) != UInt8(ascii: "0") else { return nil }
        return value
    }

    mutating func signed() -> Int64? {
        let negative = index < bytes.count && byte(index) == UInt8(ascii: "-")
        if negative { index += 1 }
        guard let magnitude = unsigned() else { return nil }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1, magnitude != 0 else { return nil }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        return Int64(exactly: magnitude)
    }

    mutating func bool() -> Bool? {
        if literal("true") { return true }
        if literal("false") { return false }
        return nil
    }

    /// A quoted string with no escape and no control character (else nil: the decoder handles it).
    mutating func plainString() -> String? {
        guard index < bytes.count, byte(index) == UInt8(ascii: "\"") else { return nil }
        let start = index + 1
        var end = start
        while end < bytes.count {
            let char = byte(end)
            if char == UInt8(ascii: "\"") { break }
            guard char >= 0x20, char != UInt8(ascii: "\\") else { return nil }
            end += 1
        }
        guard end < bytes.count, let string = String(validating: UnsafeRawBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
        else { return nil }
        index = end + 1
        return string
    }

    /// The base64 characters of an output line: everything up to the line's closing `"}` (a
    /// stray quote inside is not base64, so the decoder rejects it). Leaves the cursor on `}`.
    mutating func base64Payload() -> UnsafeRawBufferPointer? {
        let start = index
        let end = bytes.count - 2
        guard end >= start, byte(end) == UInt8(ascii: "\""), byte(end + 1) == UInt8(ascii: "}") else { return nil }
        index = end + 1
        return UnsafeRawBufferPointer(rebasing: bytes[start..<end])
    }
}
