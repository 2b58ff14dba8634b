import Glibc
import NIOCore
import RunnerProtocol
import SystemSupport

/// The journal side of one exec: its slot file (the journal's open fd), written as the exec's
/// event log is.
///
/// The header goes out with the first write, the trailer with the terminal event, so a
/// `/bin/true` exec costs two writes. A write that fails (disk full) ends the exec's journaling:
/// the slot is given up rather than left half-written, and the exec goes on in memory.
final class ExecJournalWriter {
    /// Past this many event bytes the file is rewritten to just the replay ring.
    static let compactionThreshold = 8 * Limits.replayRingBytes

    private unowned let journal: ExecJournal
    private let slot: Int
    private(set) var header: JournalHeader
    private var fd: CInt?
    private var pending = ByteBuffer()
    private var headerWritten = false
    private var gaveUp = false
    /// Event bytes in the file.
    private var eventBytes = 0

    init(journal: ExecJournal, slot: Int, header: JournalHeader) {
        self.journal = journal
        self.slot = slot
        self.header = header
    }

    /// The process exists: its pid and start time (between two readings of the boot clock,
    /// `Syscall.bootTimeNs`, around the spawn) go into the header.
    func spawned(pid: pid_t, between: ClosedRange<UInt64>) {
        header.pid = pid
        header.pidStartTime = ProcessTable.startTicks(bootTimeNs: between.lowerBound)
        header.pidStartTimeMax = ProcessTable.startTicks(bootTimeNs: between.upperBound)
    }

    /// Queues a line; `sync` writes what is queued (before clients are flushed).
    func append(_ line: ByteBuffer) {
        var line = line
        eventBytes += line.readableBytes
        pending.writeBuffer(&line)
    }

    /// Writes the queued lines; compacts to `ring` once the file grew past the threshold.
    func sync(ring: @autoclosure () -> [EventRing.Entry]) {
        guard pending.readableBytes > 0 else { return }
        write(trailer: nil)
        if eventBytes > Self.compactionThreshold, fd != nil {
            let lines = ring()
            replace(lines: lines, trailer: nil)
        }
    }

    /// The exec ended (its terminal event is queued): the events and the trailer are written
    /// in one go, the file is compacted to `ring` if it holds more, and closed.
    func finish(endedAtMs: Int64, ring: [EventRing.Entry]) {
        let trailer = JournalTrailer(endedAtMs: endedAtMs, finishOrder: journal.takeFinishOrder())
        write(trailer: trailer)
        if fd != nil, eventBytes != ring.reduce(0, { $0 + $1.line.readableBytes }) {
            replace(lines: ring, trailer: trailer)
        }
        guard !gaveUp else { return }
        fd = nil
        journal.finished(header.execId)
    }

    private func write(trailer: JournalTrailer?) {
        var out: ByteBuffer
        if headerWritten {
            out = pending
        } else {
            guard !gaveUp else { return }
            do {
                fd = try journal.openSlot(slot)
            } catch {
                return giveUp(error)
            }
            out = JournalFile.headerLine(header)
            out.writeImmutableBuffer(pending)
            headerWritten = true
        }
        guard let fd else { return }
        if let trailer { out.writeImmutableBuffer(JournalFile.trailerLine(trailer)) }
        pending.clear()
        do {
            try out.withUnsafeReadableBytes { bytes throws(SystemError) in try Syscall.writeAll(fd, bytes) }
        } catch {
            giveUp(error)
        }
    }

    private func replace(lines: [EventRing.Entry], trailer: JournalTrailer?) {
        guard let compacted = journal.compact(slot: slot, header: header, lines: lines, trailer: trailer) else { return }
        fd = compacted
        eventBytes = lines.reduce(0) { $0 + $1.line.readableBytes }
    }

    private func giveUp(_ error: SystemError) {
        fd = nil
        gaveUp = true
        journal.writeFailed(header.execId, error)
    }
}
