import Glibc
import NIOCore
import RunnerProtocol
import SystemSupport

/// The journal side of one exec: its slot file (the journal's open fd), written as the exec's
/// event log is.
///
/// The header goes out with the first write, the trailer with the terminal event, so a
/// `/bin/true` exec costs two writes. Output is journaled within a write budget
/// (`ExecJournal.WriteBudget`): an exec that streams faster has its batches recorded as a seq mark
/// instead (`JournalFile`), so a runaway writer cannot turn runnerd into a disk copier. What the
/// marks skipped is restored at the next compaction, which writes the live ring, and always when
/// the exec ends; a crash in between loses that part of the ring, which a replay then reports
/// as a `gap` — never a reused seq. A write that fails (disk full) ends the exec's journaling:
/// the slot is given up rather than left half-written, and the exec goes on in memory.
final class ExecJournalWriter {
    /// Past this many event bytes the file is rewritten to just the replay ring.
    static let compactionThreshold = 8 * Limits.replayRingBytes

    private unowned let journal: ExecJournal
    private let slot: Int
    private(set) var header: JournalHeader
    /// The slot file while this exec is journaled (tests swap in a failing descriptor).
    var fd: CInt?
    /// Lines queued since the last sync (shared with the ring: no copy until written).
    private var pending: [ByteBuffer] = []
    private var pendingBytes = 0
    private var pendingLastSeq: UInt64 = 0
    private var headerWritten = false
    private var gaveUp = false
    /// Event bytes in the file, and whether they are exactly the ring's lines (no mark).
    private var eventBytes = 0
    private var marked = false
    private let writeBudget: ExecJournal.WriteBudget
    private var budget: Double
    private var budgetRefilledAt = NIODeadline.now()

    /// The command, until its digest goes into the header with the first write (after the
    /// spawn, not before it).
    private var argv: [String]?

    init(journal: ExecJournal, slot: Int, header: JournalHeader, argv: [String]) {
        self.journal = journal
        self.slot = slot
        self.header = header
        self.argv = argv
        self.writeBudget = journal.writeBudget
        self.budget = Double(writeBudget.burstBytes)
    }

    /// The process exists: its pid and start time (between two readings of the boot clock,
    /// `Syscall.bootTimeNs`, around the spawn) go into the header.
    func spawned(pid: pid_t, between: ClosedRange<UInt64>) {
        header.pid = pid
        header.pidStartTime = ProcessTable.startTicks(bootTimeNs: between.lowerBound)
        header.pidStartTimeMax = ProcessTable.startTicks(bootTimeNs: between.upperBound)
    }

    /// Queues a line; `sync` writes what is queued (before clients are flushed).
    func append(_ line: ByteBuffer, seq: UInt64) {
        pending.append(line)
        pendingBytes += line.readableBytes
        pendingLastSeq = seq
    }

    /// Writes the queued lines — or, over budget, a mark of how far the log got — and compacts
    /// to `ring` once the file grew past the threshold.
    func sync(ring: EventRing) {
        guard pendingBytes > 0 else { return }
        refillBudget()
        if headerWritten && Double(pendingBytes) > budget {
            pending.removeAll(keepingCapacity: true)
            pendingBytes = 0
            marked = true
            return write(JournalFile.markLine(seq: pendingLastSeq))
        }
        budget -= Double(pendingBytes)
        write(nil)
        if eventBytes > Self.compactionThreshold, fd != nil {
            budget -= Double(ring.bytes)
            replace(ring, trailer: nil)
        }
    }

    /// The exec ended (its terminal event is queued): the events and the trailer are written
    /// in one go, then the file is compacted to `ring` unless it already holds exactly that.
    func finish(endedAtMs: Int64, ring: EventRing) {
        let trailer = JournalTrailer(endedAtMs: endedAtMs, finishOrder: journal.takeFinishOrder())
        write(JournalFile.trailerLine(trailer))
        if fd != nil, marked || eventBytes != ring.bytes {
            replace(ring, trailer: trailer)
        }
        guard !gaveUp else { return }
        fd = nil
        journal.finished(header.execId)
    }

    private func refillBudget() {
        let now = NIODeadline.now()
        let seconds = Double((now - budgetRefilledAt).nanoseconds) / 1e9
        budget = min(Double(writeBudget.burstBytes), budget + seconds * Double(writeBudget.bytesPerSecond))
        budgetRefilledAt = now
    }

    /// Writes the queued lines followed by `trailing` (a mark or the trailer), with the header
    /// first on the first write, in one `write`.
    private func write(_ trailing: ByteBuffer?) {
        guard !gaveUp else { return }
        var out = ByteBuffer()
        if !headerWritten {
            do {
                fd = try journal.openSlot(slot)
            } catch {
                return giveUp(error)
            }
            if let argv { header.argvDigest = JournalRecord.digest(argv) }
            argv = nil
            out = JournalFile.headerLine(header)
            headerWritten = true
        }
        guard let fd else { return }
        if pending.count == 1 && out.readableBytes == 0 && trailing == nil {
            out = pending[0]
        } else {
            out.reserveCapacity(minimumWritableBytes: pendingBytes + (trailing?.readableBytes ?? 0))
            for line in pending { out.writeImmutableBuffer(line) }
            if let trailing { out.writeImmutableBuffer(trailing) }
        }
        eventBytes += pendingBytes
        pending.removeAll(keepingCapacity: true)
        pendingBytes = 0
        do {
            try out.withUnsafeReadableBytes { bytes throws(SystemError) in try Syscall.writeAll(fd, bytes) }
        } catch {
            giveUp(error)
        }
    }

    /// Rewrites the slot to `lines`. A compaction that fails (disk full) ends the exec's
    /// journaling: the file would otherwise grow past every bound.
    private func replace(_ ring: EventRing, trailer: JournalTrailer?) {
        guard !gaveUp, fd != nil else { return }
        do {
            fd = try journal.compact(slot: slot, header: header, lines: ring.all, trailer: trailer)
        } catch {
            return giveUp(error)
        }
        eventBytes = ring.bytes
        marked = false
    }

    private func giveUp(_ error: SystemError) {
        guard !gaveUp else { return }
        fd = nil
        gaveUp = true
        pending.removeAll()
        pendingBytes = 0
        journal.writeFailed(header.execId, slot: slot, error)
    }
}
