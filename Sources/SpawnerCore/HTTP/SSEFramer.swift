import NIOCore
import RunnerProtocol
import RunnerdClient

/// Turns runnerd's NDJSON exec stream, chunk by chunk, into SSE messages (`SSEFrame`),
/// copying each byte once: a line that spans chunks is assembled straight into its message
/// (whose head is known from the line's first bytes), not first into a line buffer.
struct SSEFramer {
    /// A message whose line has started but not ended.
    private var open: ByteBuffer?
    /// The first bytes of a line that are too few (or not canonical) to open its message yet.
    private var lineStart: ByteBuffer?

    /// A line this long without its canonical header is not canonical: it is collected whole.
    static let headerScanLimit = 256

    /// Whether the stream stopped in the middle of a line.
    var isMidLine: Bool { open != nil || lineStart != nil }

    /// The messages `chunk` completes. Lines that are not events are dropped and counted in
    /// `skipped`.
    mutating func append(_ chunk: ByteBuffer, skipped: inout Int) -> [ByteBuffer] {
        var chunk = chunk
        var messages: [ByteBuffer] = []
        while chunk.readableBytes > 0 {
            let newline = NDJSONLineSplitter.firstNewline(in: chunk)
            let length = (newline ?? chunk.writerIndex) - chunk.readerIndex
            let piece = chunk.readSlice(length: length)!
            if newline != nil { chunk.moveReaderIndex(forwardBy: 1) }

            // `take()`: the buffer must be uniquely referenced, or each append would copy it.
            if var message = open.take() {
                message.writeImmutableBuffer(piece)
                if newline != nil {
                    message.writeStaticString(SSEFrame.end)
                    messages.append(message)
                } else {
                    open = message
                }
                continue
            }
            var line = piece
            if var start = lineStart.take() {
                start.writeImmutableBuffer(piece)
                line = start
            }
            if newline != nil {
                // The whole line is here: one copy into its message.
                if let message = SSEFrame.encode(line: line) { messages.append(message) } else { skipped += 1 }
            } else if let (kind, seq) = SSEFrame.canonicalKindAndSeq(of: line) {
                // Open the message now; the rest of the line is appended as it arrives.
                var message = SSEFrame.start(kind: kind, seq: seq, capacity: max(2 * line.readableBytes, 128 << 10))
                message.writeImmutableBuffer(line)
                open = message
            } else {
                // Too short to tell, or not canonical: keep it until the line ends (a line
                // that is not canonical is collected whole and decoded).
                var kept = ByteBufferAllocator().buffer(capacity: max(line.readableBytes, Self.headerScanLimit))
                kept.writeImmutableBuffer(line)
                lineStart = kept
            }
        }
        return messages
    }
}
