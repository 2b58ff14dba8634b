import Glibc
import Logging
import NIOCore
import RunnerProtocol
import SystemSupport

/// The durable exec journal: every exec's record and its retained events, under the state dir.
///
/// Layout: `<stateDir>/execs/<execId>.json` (the record, replaced atomically) and
/// `<stateDir>/execs/<execId>.ndjson` (the events, in wire form). Events are appended before
/// they are flushed to any client, so whatever a client saw is on disk (in the page cache: it
/// survives runnerd's death, which is what a container restart is). The events file is
/// compacted to the replay ring when it grows past a few rings and when the exec ends; the
/// journal keeps the last `maxExecs` execs. Loop-confined, like the supervisor.
public final class ExecJournal {
    /// The `execs` directory, held open: every journal file is reached relative to it, never by
    /// a path the agent could redirect (see `StateDirectory`).
    private let directoryFD: CInt
    public let maxExecs: Int
    private let logger: Logger
    private var nextOrdinal: UInt64 = 1
    /// Finished execs on disk, oldest first.
    private var finishedOrder: [(ordinal: UInt64, execId: String)] = []

    /// - stateDirectory: the trusted state dir fd from `StateDirectory.open` (not taken over).
    public init(stateDirectory: CInt, maxExecs: Int = 64, logger: Logger) throws(SystemError) {
        self.directoryFD = try StateDirectory.open("execs", in: stateDirectory)
        self.maxExecs = maxExecs
        self.logger = logger
    }

    deinit { Syscall.close(directoryFD) }

    private func recordName(_ id: String) -> String { "\(id).json" }
    private func eventsName(_ id: String) -> String { "\(id).ndjson" }

    private func remove(_ execId: String) {
        Syscall.unlink(at: directoryFD, recordName(execId))
        Syscall.unlink(at: directoryFD, eventsName(execId))
    }

    // MARK: Writing

    /// A new exec: an empty events file kept open for appends, and its record.
    func started(execId: String, argv: [String], startedAtMs: Int64) -> ExecJournalWriter? {
        let record = JournalRecord(
            execId: execId, argvDigest: JournalRecord.digest(argv), startedAtMs: startedAtMs, state: .running,
            ordinal: nextOrdinal)
        nextOrdinal += 1
        do {
            // The directory is runnerd's own (no planted links); a stale file of the same id is
            // truncated.
            let fd = try Syscall.openat(directoryFD, eventsName(execId), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_NOFOLLOW, 0o600)
            // The record is first written once the process exists (`spawned`) or the exec
            // ends (`finished`): one record write per start instead of two.
            return ExecJournalWriter(journal: self, record: record, fd: fd)
        } catch {
            logger.error("journal: cannot start a record", metadata: ["execId": "\(execId)", "error": "\(error)"])
            return nil
        }
    }

    func save(_ record: JournalRecord) {
        do {
            try Syscall.writeFileAtomically(at: directoryFD, recordName(record.execId), try WireJSON.encode(record))
        } catch {
            logger.error("journal: cannot write a record", metadata: ["execId": "\(record.execId)", "error": "\(error)"])
        }
    }

    /// Replaces an exec's events file by `lines` (the replay ring); returns the new file, open
    /// for appends.
    func compact(_ execId: String, lines: [EventRing.Entry]) -> CInt? {
        let temp = ".\(eventsName(execId)).compact-\(UInt64.random(in: 0...UInt64.max))"
        do {
            let fd = try Syscall.openat(directoryFD, temp, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_NOFOLLOW, 0o600)
            do {
                for entry in lines {
                    try entry.line.withUnsafeReadableBytes { bytes throws(SystemError) in try Syscall.writeAll(fd, bytes) }
                }
                try Syscall.retrying("renameat") { renameat(directoryFD, temp, directoryFD, eventsName(execId)) }
            } catch {
                Syscall.close(fd)
                throw error
            }
            return fd
        } catch {
            logger.error("journal: cannot compact events", metadata: ["execId": "\(execId)", "error": "\(error)"])
            Syscall.unlink(at: directoryFD, temp)
            return nil
        }
    }

    /// An exec ended: remember it for pruning, and drop the oldest beyond `maxExecs`.
    func finished(_ record: JournalRecord) {
        finishedOrder.append((record.ordinal, record.execId))
        while finishedOrder.count > maxExecs {
            remove(finishedOrder.removeFirst().execId)
        }
    }

    /// Shutdown: everything written so far reaches the disk.
    public func syncToDisk() {
        Syscall.syncFilesystem(directoryFD)
    }

    // MARK: Reading

    /// What a restart finds of one exec.
    public struct Recovered {
        public var record: JournalRecord
        public var lines: [(seq: UInt64, line: ByteBuffer)]
    }

    /// Loads one exec from disk.
    public func load(_ execId: String) -> Recovered? {
        guard Identifier.isValidExecID(execId),
            let recordBytes = try? Syscall.readFile(at: directoryFD, recordName(execId)),
            let record = try? WireJSON.decode(JournalRecord.self, from: recordBytes)
        else { return nil }
        let bytes = (try? Syscall.readFile(at: directoryFD, eventsName(execId), limit: 64 << 20)) ?? []
        var ring = EventRing(capacityBytes: Limits.replayRingBytes)
        var buffer = ByteBuffer(bytes: bytes)
        while let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
            let length = newline - buffer.readerIndex + 1
            let line = buffer.readSlice(length: length)!
            // A line cut by a crash mid-write is not an event; nothing after it can be either.
            guard let event = try? EventReader.decode(line.getSlice(at: line.readerIndex, length: length - 1)!) else { break }
            ring.append(seq: event.seq, line: line)
        }
        return Recovered(record: record, lines: ring.all.map { ($0.seq, $0.line) })
    }

    /// At boot: every exec on disk, oldest first. Execs that were running when runnerd died get
    /// a final `exit` with `lost: true` (their processes, if still alive, are killed).
    public func recoverAll() -> [Recovered] {
        let names = (try? Syscall.listDirectory(fd: directoryFD)) ?? []
        // Leftovers of a crash: temp files, and events of an exec whose process never started.
        let records = Set(names.filter { $0.hasSuffix(".json") }.map { $0.dropLast(5) })
        for name in names where !name.hasSuffix(".json") {
            if name.hasSuffix(".ndjson") && records.contains(name.dropLast(7)) { continue }
            Syscall.unlink(at: directoryFD, name)
        }
        var recovered: [Recovered] = []
        for name in names where name.hasSuffix(".json") {
            let id = String(name.dropLast(5))
            guard var item = load(id) else {
                logger.warning("journal: unreadable record skipped", metadata: ["file": "\(name)"])
                continue
            }
            if item.record.state == .running {
                item = markLost(item)
            }
            recovered.append(item)
        }
        recovered.sort { $0.record.ordinal < $1.record.ordinal }
        nextOrdinal = (recovered.last?.record.ordinal ?? 0) + 1
        finishedOrder = recovered.map { ($0.record.ordinal, $0.record.execId) }
        while finishedOrder.count > maxExecs {
            remove(finishedOrder.removeFirst().execId)
            recovered.removeFirst()
        }
        return recovered
    }

    private func markLost(_ item: Recovered) -> Recovered {
        var item = item
        if let pid = item.record.pid, let recorded = item.record.pidStartTime, ProcessTable.stat(pid)?.startTime == recorded {
            // Still running from before the restart, unsupervised: end it.
            Syscall.signalGroup(pid, SIGKILL)
            logger.warning("journal: killed an exec left running by a previous runnerd", metadata: ["execId": "\(item.record.execId)", "pid": "\(pid)"])
        }
        let now = Syscall.nowMs()
        let exit = ExecEvent.Exit(
            exitCode: -1, durationMs: max(0, now - item.record.startedAtMs), truncated: .init(stdout: false, stderr: false),
            timedOut: false, cancelled: false, lost: true)
        let event = ExecEvent(seq: (item.lines.last?.seq ?? 0) + 1, .exit(exit))
        let line = EventWriter.line(event)
        if let fd = try? Syscall.openat(directoryFD, eventsName(item.record.execId), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW, 0o600) {
            _ = try? line.withUnsafeReadableBytes { bytes throws(SystemError) in try Syscall.writeAll(fd, bytes) }
            Syscall.close(fd)
        }
        item.lines.append((event.seq, line))
        item.record.state = .exited
        item.record.exit = exit
        item.record.endedAtMs = now
        save(item.record)
        return item
    }
}

/// The journal side of one exec: its open events file and its record.
final class ExecJournalWriter {
    private let journal: ExecJournal
    private(set) var record: JournalRecord
    private var fd: CInt?
    private var pending = ByteBuffer()
    /// Bytes in the events file.
    private var fileBytes = 0

    init(journal: ExecJournal, record: JournalRecord, fd: CInt) {
        self.journal = journal
        self.record = record
        self.fd = fd
    }

    deinit {
        if let fd { Syscall.close(fd) }
    }

    func saveRecord() { journal.save(record) }

    func spawned(pid: pid_t) {
        record.pid = pid
        record.pidStartTime = ProcessTable.stat(pid)?.startTime
        saveRecord()
    }

    /// Queues a line; `sync` writes what is queued (before clients are flushed).
    func append(_ line: ByteBuffer) {
        var line = line
        pending.writeBuffer(&line)
    }

    /// Writes the queued lines; compacts to `ring` once the file grew past four rings.
    func sync(ring: @autoclosure () -> [EventRing.Entry]) {
        guard pending.readableBytes > 0, let fd else { return }
        let count = pending.readableBytes
        _ = try? pending.withUnsafeReadableBytes { bytes throws(SystemError) in try Syscall.writeAll(fd, bytes) }
        pending.clear()
        fileBytes += count
        if fileBytes > 4 * Limits.replayRingBytes {
            let lines = ring()
            if let compacted = journal.compact(record.execId, lines: lines) {
                Syscall.close(fd)
                self.fd = compacted
                fileBytes = lines.reduce(0) { $0 + $1.line.readableBytes }
            }
        }
    }

    /// The exec ended: final events compacted to the ring, record saved, file closed.
    func finished(exit: ExecEvent.Exit?, fail: ExecEvent.Fail?, endedAtMs: Int64, ring: [EventRing.Entry]) {
        sync(ring: ring)
        if let fd {
            Syscall.close(fd)
            self.fd = nil
        }
        // The file holds exactly the ring unless the ring evicted since the last compaction.
        let ringBytes = ring.reduce(0) { $0 + $1.line.readableBytes }
        if fileBytes != ringBytes, let compacted = journal.compact(record.execId, lines: ring) {
            Syscall.close(compacted)
        }
        record.state = fail == nil ? .exited : .failed
        record.exit = exit
        record.fail = fail
        record.endedAtMs = endedAtMs
        saveRecord()
        journal.finished(record)
    }

    /// Shutdown: make what was written durable.
    func flushToDisk() {
        if let fd { Syscall.fsync(fd) }
    }
}
