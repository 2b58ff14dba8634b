import NIOCore

/// One Server-Sent Events message of an exec stream: `event:` = the event's `t`, `id:` =
/// its `seq`, `data:` = the event's JSON line, exactly as runnerd wrote it.
public enum SSEFrame {
    /// The SSE message for one NDJSON event line (without its newline), or nil when the line
    /// is not an event (no `t`/`seq`). One allocation of the exact size: output lines are
    /// tens of KB, and a buffer that grows copies them twice.
    public static func encode(line: ByteBuffer) -> ByteBuffer? {
        guard let (kind, seq) = kindAndSeq(of: line) else { return nil }
        var message = start(kind: kind, seq: seq, capacity: line.readableBytes + 2)
        message.writeImmutableBuffer(line)
        message.writeStaticString(end)
        return message
    }

    /// A message's first bytes, `event: KIND\nid: SEQ\ndata: `, in a buffer with room for
    /// `capacity` more: the line and `end` follow.
    public static func start(kind: String, seq: UInt64, capacity: Int) -> ByteBuffer {
        let head = "event: \(kind)\nid: \(seq)\ndata: "
        var message = ByteBufferAllocator().buffer(capacity: head.utf8.count + capacity)
        message.writeString(head)
        return message
    }

    /// What ends a message after its line.
    public static let end: StaticString = "\n\n"

    /// `t` and `seq` from the canonical prefix alone (nil for any other shape): usable on the
    /// first bytes of a line whose end has not arrived yet.
    public static func canonicalKindAndSeq(of lineStart: ByteBuffer) -> (kind: String, seq: UInt64)? {
        lineStart.withUnsafeReadableBytes(scanCanonicalPrefix)
    }

    /// `t` and `seq` of an event line, found by a scan of the canonical prefix
    /// `{"seq":N,"t":"KIND"` that `EventWriter` writes; a line of any other shape is decoded.
    public static func kindAndSeq(of line: ByteBuffer) -> (kind: String, seq: UInt64)? {
        if let fast = canonicalKindAndSeq(of: line) { return fast }
        guard let header = try? WireJSON.decode(EventHeader.self, from: line.readableBytesView) else { return nil }
        return (header.t, header.seq)
    }

    private struct EventHeader: Decodable {
        var t: String
        var seq: UInt64
    }

    private static let seqPrefix = Array(#"{"seq":"#.utf8)
    private static let kindInfix = Array(#","t":""#.utf8)

    static func scanCanonicalPrefix(_ bytes: UnsafeRawBufferPointer) -> (kind: String, seq: UInt64)? {
        func matches(_ literal: [UInt8], at offset: Int) -> Bool {
            guard offset + literal.count <= bytes.count else { return false }
            for (i, byte) in literal.enumerated() where bytes[offset + i] != byte { return false }
            return true
        }
        guard matches(seqPrefix, at: 0) else { return nil }
        var index = seqPrefix.count
        var seq: UInt64 = 0
        let digitsStart = index
        // At most 19 digits: no overflow; a longer number takes the decoding path.
        while index < bytes.count, index - digitsStart < 19, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
            seq = seq * 10 + UInt64(bytes[index] - UInt8(ascii: "0"))
            index += 1
        }
        guard index > digitsStart, matches(kindInfix, at: index) else { return nil }
        index += kindInfix.count
        let kindStart = index
        while index < bytes.count, index - kindStart < 16, bytes[index] >= UInt8(ascii: "a"), bytes[index] <= UInt8(ascii: "z") {
            index += 1
        }
        guard index > kindStart, index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
        return (String(decoding: UnsafeRawBufferPointer(rebasing: bytes[kindStart..<index]), as: UTF8.self), seq)
    }
}
