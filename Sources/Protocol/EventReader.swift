import NIOCore

/// Reads NDJSON event lines back into `ExecEvent`s.
///
/// Output lines in `EventWriter`'s canonical form (`{"seq":N,"t":"stdout","b64":"…"}`) are
/// decoded directly from the buffer: they carry nearly every byte of a stream, and a general
/// JSON decoder would first build a String of the base64. Any other line, or one that does not
/// match the canonical form exactly, goes through `JSONDecoder`, so the result never depends on
/// which path was taken.
public enum EventReader {
    public static func decode(_ line: ByteBuffer) throws -> ExecEvent {
        if let event = line.withUnsafeReadableBytes(decodeCanonicalOutput) { return event }
        return try WireJSON.decode(ExecEvent.self, from: line.readableBytesView)
    }

    public static func decode(_ line: some Collection<UInt8>) throws -> ExecEvent {
        try decode(ByteBuffer(bytes: line))
    }

    private static let prefix = Array(#"{"seq":"#.utf8)
    private static let stdoutInfix = Array(#","t":"stdout","b64":""#.utf8)
    private static let stderrInfix = Array(#","t":"stderr","b64":""#.utf8)
    private static let suffix = Array(#""}"#.utf8)

    static func decodeCanonicalOutput(_ bytes: UnsafeRawBufferPointer) -> ExecEvent? {
        guard bytes.count > prefix.count + stdoutInfix.count + suffix.count, matches(bytes, at: 0, prefix) else { return nil }
        var index = prefix.count
        var seq: UInt64 = 0
        let digitsStart = index
        while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
            let (times10, overflow1) = seq.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(bytes[index] - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            seq = sum
            index += 1
        }
        guard index > digitsStart, index - digitsStart < 21 else { return nil }
        let isStderr: Bool
        if matches(bytes, at: index, stdoutInfix) {
            isStderr = false
        } else if matches(bytes, at: index, stderrInfix) {
            isStderr = true
        } else {
            return nil
        }
        index += stdoutInfix.count
        let end = bytes.count - suffix.count
        guard end >= index, matches(bytes, at: end, suffix) else { return nil }
        let payload = UnsafeRawBufferPointer(rebasing: bytes[index..<end])
        guard let decoded = Base64.decode(payload) else { return nil }
        return ExecEvent(seq: seq, isStderr ? .stderr(decoded) : .stdout(decoded))
    }

    private static func matches(_ bytes: UnsafeRawBufferPointer, at offset: Int, _ literal: [UInt8]) -> Bool {
        guard offset + literal.count <= bytes.count else { return false }
        for (index, byte) in literal.enumerated() where bytes[offset + index] != byte { return false }
        return true
    }
}
