import NIOCore
import RunnerProtocol

/// The on-disk form of one exec in the journal: a header line, the exec's events in wire form
/// (the oldest compacted away once they left the replay ring), then — once the exec ended — a
/// trailer line written together with the terminal event.
///
/// A mark line (`{"j":"mark","seq":N}`) stands for events up to N that were not journaled
/// (`ExecJournalWriter`'s write budget): events before it are dropped on reading, so the ring
/// read back is contiguous and a replay reports the missing seqs as a `gap`.
///
/// Header, mark and trailer are JSON objects keyed `"j"`; events always start with `{"seq":`.
/// A line cut short by a crash ends the file: nothing after it is trusted.
public enum JournalFile {
    /// What a file holds.
    public struct Contents {
        public var header: JournalHeader
        /// The retained events (at most one replay ring's worth), oldest first.
        public var lines: [(seq: UInt64, line: ByteBuffer)]
        public var trailer: JournalTrailer?
        public var terminal: ExecEvent.Body?
        /// The last seq the exec logged, as far as the file knows (a mark may be past the lines).
        public var lastSeq: UInt64 = 0

        /// Why contents that parse still cannot be trusted: values runnerd never writes, which
        /// would otherwise meet arithmetic (a seq or an order counted on from them, a duration
        /// added to a start). nil when every value is in range.
        public var defect: String? {
            if !Identifier.isValidExecID(header.execId) { return "execId is not a valid exec id" }
            if header.ordinal > JournalFile.maxCounter { return "ordinal \(header.ordinal) is out of range" }
            if !JournalFile.epochMs.contains(header.startedAtMs) { return "startedAtMs \(header.startedAtMs) is out of range" }
            if let pid = header.pid, pid < 2 { return "pid \(pid) is not an exec's" }
            if lastSeq > JournalFile.maxCounter { return "seq \(lastSeq) is out of range" }
            if let trailer {
                if trailer.finishOrder > JournalFile.maxCounter { return "finishOrder \(trailer.finishOrder) is out of range" }
                if !JournalFile.epochMs.contains(trailer.endedAtMs) { return "endedAtMs \(trailer.endedAtMs) is out of range" }
            }
            if case .exit(let exit) = terminal, !JournalFile.epochMs.contains(exit.durationMs) {
                return "durationMs \(exit.durationMs) is out of range"
            }
            return nil
        }

        public var record: JournalRecord {
            var record = JournalRecord(header: header, trailer: trailer)
            switch terminal {
            case .exit(let exit): record.exit = exit
            case .fail(let fail): record.fail = fail
            default: break
            }
            return record
        }
    }

    /// Largest seq, ordinal and finish order a loaded file may hold: far beyond any that
    /// runnerd reaches (one per event or exec), so counting on from one never overflows.
    public static let maxCounter: UInt64 = 1 << 62
    /// Times a loaded file may hold (epoch ms up to the year 9999), and durations likewise.
    public static let epochMs: ClosedRange<Int64> = 0...253_402_300_799_999

    public static func headerLine(_ header: JournalHeader) -> ByteBuffer {
        line(capacity: 256) { json in
            json.field("j", header.j)
            json.field("execId", header.execId)
            json.field("argvDigest", header.argvDigest)
            json.field("startedAtMs", header.startedAtMs)
            json.field("ordinal", header.ordinal)
            if let pid = header.pid { json.field("pid", Int64(pid)) }
            if let start = header.pidStartTime { json.field("pidStartTime", start) }
            if let start = header.pidStartTimeMax { json.field("pidStartTimeMax", start) }
        }
    }

    public static func trailerLine(_ trailer: JournalTrailer) -> ByteBuffer {
        line(capacity: 64) { json in
            json.field("j", trailer.j)
            json.field("endedAtMs", trailer.endedAtMs)
            json.field("finishOrder", trailer.finishOrder)
        }
    }

    public static func markLine(seq: UInt64) -> ByteBuffer {
        line(capacity: 40) { json in
            json.field("j", "mark")
            json.field("seq", seq)
        }
    }

    /// One JSON object and its newline.
    private static func line(capacity: Int, _ fields: (inout JSONObjectWriter) -> Void) -> ByteBuffer {
        var json = JSONObjectWriter(buffer: ByteBufferAllocator().buffer(capacity: capacity))
        fields(&json)
        var line = json.finish()
        line.writeStaticString("\n")
        return line
    }

    private static let trailerPrefix = Array(#"{"j":"end""#.utf8)
    private static let markPrefix = Array(#"{"j":"mark""#.utf8)

    private struct Mark: Decodable {
        var seq: UInt64
    }

    /// Parses a file; nil when it has no valid header (empty, torn at the first line, foreign).
    public static func parse(_ bytes: [UInt8], ringBytes: Int = Limits.replayRingBytes) -> Contents? {
        var buffer = ByteBuffer(bytes: bytes)
        func nextLine() -> ByteBuffer? {
            guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
            return buffer.readSlice(length: newline - buffer.readerIndex + 1)
        }
        guard let first = nextLine(),
            let header = try? WireJSON.decode(JournalHeader.self, from: first.readableBytesView.dropLast()),
            header.j == "exec"
        else { return nil }
        var contents = Contents(header: header, lines: [], trailer: nil, terminal: nil)
        var ring = EventRing(capacityBytes: ringBytes)
        while let line = nextLine() {
            let body = line.getSlice(at: line.readerIndex, length: line.readableBytes - 1)!
            if body.readableBytesView.starts(with: trailerPrefix) {
                if contents.terminal != nil, let trailer = try? WireJSON.decode(JournalTrailer.self, from: body.readableBytesView) {
                    contents.trailer = trailer
                }
                break
            }
            if body.readableBytesView.starts(with: markPrefix) {
                guard contents.terminal == nil, let mark = try? WireJSON.decode(Mark.self, from: body.readableBytesView),
                    mark.seq >= contents.lastSeq
                else { break }
                ring = EventRing(capacityBytes: ringBytes)
                contents.lastSeq = mark.seq
                continue
            }
            guard contents.terminal == nil, let event = try? EventReader.decode(body), event.seq > contents.lastSeq else { break }
            ring.append(seq: event.seq, line: line)
            contents.lastSeq = event.seq
            if event.isTerminal { contents.terminal = event.body }
        }
        contents.lines = ring.all.map { ($0.seq, $0.line) }
        return contents
    }
}
