import NIOCore
import RunnerProtocol
import RunnerdClient

/// Turns runnerd's NDJSON event stream, chunk by chunk, into SSE messages (`SSEFrame`) without
/// copying the lines: a message goes out as its head (`event: KIND\nid: SEQ\ndata: `, known
/// from the line's first bytes), the line's bytes as slices of the chunks they arrived in, and
/// its end (`\n\n`). What is copied: the few first bytes of a line cut before its header, a
/// line not in the canonical form (collected and decoded), and pieces small enough to ride
/// along with the heads (`SSEOutput`).
///
/// A line longer than `lineCap` ends the stream (`LineTooLong`): a runnerd that never ends a
/// line must not make the spawner, or its client, hold it.
struct SSEFramer {
    /// The stream carried a line longer than `cap`.
    struct LineTooLong: Error, CustomStringConvertible {
        let cap: Int
        var description: String { "runnerd sent a line longer than \(cap) bytes" }
    }

    private enum State {
        /// At a line's start, or inside its first bytes (too few to name the event yet).
        case lineStart(ByteBuffer?)
        /// The message is open: its head went out; `length` bytes of the line so far.
        case streaming(length: Int)
        /// A line that is not canonical, collected whole to be decoded.
        case collecting(ByteBuffer)
    }

    private var state = State.lineStart(nil)
    let lineCap: Int
    /// Every message's `event:` (`fs` for watch streams); nil: the event's `t`.
    let eventName: String?
    /// Lines that were not events (dropped).
    private(set) var skipped = 0

    /// A line this long without its canonical header is not canonical: it is collected whole.
    static let headerScanLimit = 256

    init(lineCap: Int = Limits.eventLineCapBytes, eventName: String? = nil) {
        self.lineCap = lineCap
        self.eventName = eventName
    }

    /// Whether the stream stopped in the middle of a line.
    var isMidLine: Bool {
        if case .lineStart(nil) = state { return false }
        return true
    }

    /// Frames `chunk`, appending what goes out to `out`.
    mutating func append(_ chunk: ByteBuffer, into out: inout SSEOutput) throws(LineTooLong) {
        var chunk = chunk
        while chunk.readableBytes > 0 {
            let newline = NDJSONLineSplitter.firstNewline(in: chunk)
            let piece = chunk.readSlice(length: (newline ?? chunk.writerIndex) - chunk.readerIndex)!
            let ends = newline != nil
            if ends { chunk.moveReaderIndex(forwardBy: 1) }

            switch state {
            case .streaming(let before):
                let length = before + piece.readableBytes
                guard length <= lineCap else { throw LineTooLong(cap: lineCap) }
                out.append(piece)
                if ends {
                    out.appendEnd()
                    state = .lineStart(nil)
                } else {
                    state = .streaming(length: length)
                }
            case .collecting(var line):
                state = .lineStart(nil)  // `line` is now the only reference: appends do not copy it
                guard line.readableBytes + piece.readableBytes <= lineCap else { throw LineTooLong(cap: lineCap) }
                line.writeImmutableBuffer(piece)
                if ends { finishCollected(line, into: &out) } else { state = .collecting(line) }
            case .lineStart(let prefix):
                state = .lineStart(nil)
                try start(prefix: prefix, piece, ends: ends, into: &out)
            }
        }
    }

    /// A line's first bytes: `prefix` (kept from earlier chunks) and `piece`.
    private mutating func start(prefix: ByteBuffer?, _ piece: ByteBuffer, ends: Bool, into out: inout SSEOutput) throws(LineTooLong) {
        let length = (prefix?.readableBytes ?? 0) + piece.readableBytes
        guard length <= lineCap else { throw LineTooLong(cap: lineCap) }
        // The header is in the first bytes: scan those, joined to the prefix when there is one.
        var scanned = piece
        if var joined = prefix {
            joined.writeImmutableBuffer(piece.getSlice(at: piece.readerIndex, length: min(piece.readableBytes, Self.headerScanLimit))!)
            scanned = joined
        }
        if let (kind, seq) = SSEFrame.canonicalKindAndSeq(of: scanned) {
            out.appendHead(event: eventName ?? kind, seq: seq)
            if let prefix { out.append(prefix) }
            out.append(piece)
            if ends { out.appendEnd() } else { state = .streaming(length: length) }
        } else if ends || length >= Self.headerScanLimit {
            // Not canonical (or no event at all): collected whole, then decoded.
            var line = ByteBufferAllocator().buffer(capacity: ends ? length : max(2 * length, 4096))
            if let prefix { line.writeImmutableBuffer(prefix) }
            line.writeImmutableBuffer(piece)
            if ends { finishCollected(line, into: &out) } else { state = .collecting(line) }
        } else {
            // Too short to tell: the few bytes wait for the next chunk.
            var kept = prefix ?? ByteBufferAllocator().buffer(capacity: Self.headerScanLimit)
            kept.writeImmutableBuffer(piece)
            state = .lineStart(kept)
        }
    }

    private mutating func finishCollected(_ line: ByteBuffer, into out: inout SSEOutput) {
        guard let (kind, seq) = SSEFrame.kindAndSeq(of: line) else {
            skipped += 1
            return
        }
        out.appendHead(event: eventName ?? kind, seq: seq)
        out.append(line)
        out.appendEnd()
    }
}

/// What the framer sends on, in as few buffers as it can: slices of the upstream chunks for
/// the bulk of the lines, and small buffers gathering the heads, the ends and the short pieces
/// between them.
struct SSEOutput {
    private var buffers: [ByteBuffer] = []
    private var small: ByteBuffer?
    private(set) var byteCount = 0

    /// Pieces at most this long are copied next to the heads instead of going out on their own
    /// (a write of its own costs more than copying 2 KiB).
    static let copyLimit = 2048

    init() {}

    var isEmpty: Bool { byteCount == 0 }

    mutating func appendHead(event: String, seq: UInt64) {
        writeSmall { buffer in
            buffer.writeStaticString("event: ")
            buffer.writeString(event)
            buffer.writeStaticString("\nid: ")
            buffer.writeString(String(seq))
            buffer.writeStaticString("\ndata: ")
        }
    }

    mutating func appendEnd() {
        writeSmall { $0.writeStaticString(SSEFrame.end) }
    }

    mutating func append(_ piece: ByteBuffer) {
        guard piece.readableBytes > 0 else { return }
        if piece.readableBytes <= Self.copyLimit { return writeSmall { $0.writeImmutableBuffer(piece) } }
        flushSmall()
        buffers.append(piece)
        byteCount += piece.readableBytes
    }

    /// Every buffer, in order; the output is empty afterwards.
    mutating func take() -> [ByteBuffer] {
        flushSmall()
        defer {
            buffers = []
            byteCount = 0
        }
        return buffers
    }

    private mutating func writeSmall(_ write: (inout ByteBuffer) -> Void) {
        var buffer = small.take() ?? ByteBufferAllocator().buffer(capacity: 256)
        let before = buffer.readableBytes
        write(&buffer)
        byteCount += buffer.readableBytes - before
        small = buffer
    }

    private mutating func flushSmall() {
        if let buffer = small.take(), buffer.readableBytes > 0 { buffers.append(buffer) }
    }
}
