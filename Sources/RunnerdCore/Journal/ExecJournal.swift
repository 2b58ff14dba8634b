import Glibc
import Logging
import NIOCore
import RunnerProtocol
import SystemSupport

/// The durable exec journal: every exec's header, retained events and outcome, under the state
/// dir, so that status and attach answer across a runnerd restart.
///
/// Layout: `<stateDir>/execs/slot-N.ndjson`, one exec per slot file (`JournalFile`). Slots are
/// reused: a new exec truncates the slot of the exec pruned before it, so the steady state
/// allocates no inode, renames nothing and writes no record file — an exec costs one open, its
/// event writes and one close. Events are written before any client is flushed, so whatever a
/// client saw is on disk (in the page cache: it survives runnerd's death, which is what a
/// container restart is). A slot file is compacted to the replay ring when it grows past a few
/// rings and when the exec ends. The journal keeps the `maxExecs` execs that finished last;
/// live execs are always kept. Loop-confined, like the supervisor.
public final class ExecJournal {
    /// The `execs` directory, held open: every journal file is reached relative to it, never by
    /// a path the agent could redirect (see `StateDirectory`).
    private let directoryFD: CInt
    public let maxExecs: Int
    /// How fast one exec's output may be written to the journal (`ExecJournalWriter`).
    public struct WriteBudget: Sendable {
        public var bytesPerSecond: Int
        public var burstBytes: Int
        /// 16 MiB/s sustained, 4 MiB bursts.
        public static let standard = WriteBudget(bytesPerSecond: 16 << 20, burstBytes: 4 << 20)
        public init(bytesPerSecond: Int, burstBytes: Int) {
            self.bytesPerSecond = bytesPerSecond
            self.burstBytes = burstBytes
        }
    }
    public let writeBudget: WriteBudget
    private let logger: Logger
    private var nextOrdinal: UInt64 = 1
    private var nextFinishOrder: UInt64 = 1
    /// The slot of every exec on disk (live, or finished and not yet pruned).
    private var slots: [String: Int] = [:]
    /// Slots whose exec was pruned (or never used): the next execs take these first.
    private var freeSlots: [Int] = []
    private var slotCount = 0
    /// Finished execs on disk, in finish order.
    private var finishedOrder = CircularBuffer<String>()
    /// Execs ended at boot whose file could not be rewritten (disk full): served from here, so
    /// the `exit` a client reads stays the same for the life of this runnerd.
    private var endedInMemory: [String: Recovered] = [:]
    /// Slot files stay open once used (at most `maxExecs` + the live execs): reusing a slot is
    /// one truncate, with no open or close on the exec path (on ext4 the close of a truncated
    /// and rewritten file forces its blocks out).
    private var slotFDs: [Int: CInt] = [:]

    /// Where slot files that cannot be loaded go (`<stateDir>/set-aside`), open until the
    /// recovery at boot is done.
    private var setAsideFD: CInt?
    /// Slot files kept in the set-aside directory; older ones are removed.
    static let setAsideKept = 16

    /// - stateDirectory: the trusted state dir fd from `StateDirectory.open` (not taken over).
    public init(stateDirectory: CInt, maxExecs: Int = 64, writeBudget: WriteBudget = .standard, logger: Logger) throws(SystemError) {
        self.directoryFD = try StateDirectory.open("execs", in: stateDirectory, logger: logger)
        self.setAsideFD = try? StateDirectory.open("set-aside", in: stateDirectory, logger: logger)
        self.maxExecs = maxExecs
        self.writeBudget = writeBudget
        self.logger = logger
    }

    deinit {
        for fd in slotFDs.values { Syscall.close(fd) }
        if let setAsideFD { Syscall.close(setAsideFD) }
        Syscall.close(directoryFD)
    }

    static func slotName(_ slot: Int) -> String { "slot-\(slot).ndjson" }

    static func slotNumber(_ name: String) -> Int? {
        guard name.hasPrefix("slot-"), name.hasSuffix(".ndjson") else { return nil }
        guard let number = Int(name.dropFirst(5).dropLast(7)), (0..<65536).contains(number), slotName(number) == name else { return nil }
        return number
    }

    /// Whether `execId` is on disk (its id stays taken).
    public func contains(_ execId: String) -> Bool { slots[execId] != nil }

    // MARK: Writing

    /// A new exec: takes a slot. Its file is emptied with the first write (`openSlot`), after
    /// the process was spawned, so the spawn does not wait on the filesystem.
    func started(execId: String, argv: [String], startedAtMs: Int64) -> ExecJournalWriter {
        let slot = freeSlots.popLast() ?? { slotCount += 1; return slotCount - 1 }()
        slots[execId] = slot
        let header = JournalHeader(execId: execId, argvDigest: "", startedAtMs: startedAtMs, ordinal: nextOrdinal)
        nextOrdinal += 1
        return ExecJournalWriter(journal: self, slot: slot, header: header, argv: argv)
    }

    /// The slot's file, emptied and open for appends.
    func openSlot(_ slot: Int) throws(SystemError) -> CInt {
        if let open = slotFDs[slot] {
            try Syscall.truncate(open, to: 0)
            return open
        }
        // The directory is runnerd's own: no planted links, and O_NOFOLLOW besides.
        let fd = try Syscall.openat(directoryFD, Self.slotName(slot), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_NOFOLLOW, 0o600)
        slotFDs[slot] = fd
        return fd
    }

    /// Replaces a slot file by `header` + `lines` (+ `trailer`) through a temp file and a
    /// rename; returns the slot's new file, open for appends. Only the exec that owns the slot
    /// may compact it.
    func compact(slot: Int, header: JournalHeader, lines: [EventRing.Entry], trailer: JournalTrailer?) throws(SystemError) -> CInt {
        guard slots[header.execId] == slot else { throw SystemError("compact a slot of another exec", errno: EBADF) }
        let fd = try rewrite(slot: slot, header: header, lines: lines, trailer: trailer)
        if let old = slotFDs.updateValue(fd, forKey: slot) { Syscall.close(old) }
        return fd
    }

    private func rewrite(slot: Int, header: JournalHeader, lines: [EventRing.Entry], trailer: JournalTrailer?) throws(SystemError) -> CInt {
        let temp = ".\(Self.slotName(slot)).compact"
        do throws(SystemError) {
            let fd = try Syscall.openat(directoryFD, temp, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_NOFOLLOW, 0o600)
            do throws(SystemError) {
                var content = JournalFile.headerLine(header)
                for entry in lines { content.writeImmutableBuffer(entry.line) }
                if let trailer { content.writeImmutableBuffer(JournalFile.trailerLine(trailer)) }
                try content.withUnsafeReadableBytes { bytes throws(SystemError) in try Syscall.writeAll(fd, bytes) }
                try Syscall.renameEntry(temp, in: directoryFD, to: Self.slotName(slot), in: directoryFD)
            } catch {
                Syscall.close(fd)
                throw error
            }
            return fd
        } catch {
            logger.error("journal: cannot compact a slot", metadata: ["execId": "\(header.execId)", "error": "\(error)"])
            Syscall.unlink(at: directoryFD, temp)
            throw error
        }
    }

    /// The next finish order (the trailer of an exec that ends now).
    func takeFinishOrder() -> UInt64 {
        defer { nextFinishOrder += 1 }
        return nextFinishOrder
    }

    /// An exec ended: remember it for pruning, and free the slots of the oldest beyond `maxExecs`.
    func finished(_ execId: String) {
        finishedOrder.append(execId)
        while finishedOrder.count > maxExecs {
            let pruned = finishedOrder.removeFirst()
            endedInMemory.removeValue(forKey: pruned)
            if let slot = slots.removeValue(forKey: pruned) { freeSlots.append(slot) }
        }
    }

    /// A journal write failed (disk full, or the slot could not be opened): the exec is no
    /// longer journaled and its half-written slot is removed, so a restart does not find it.
    func writeFailed(_ execId: String, slot: Int, _ error: SystemError) {
        logger.error("journal: write failed; the exec is no longer journaled", metadata: ["execId": "\(execId)", "error": "\(error)"])
        guard slots[execId] == slot else { return }
        slots.removeValue(forKey: execId)
        Syscall.unlink(at: directoryFD, Self.slotName(slot))
        if let fd = slotFDs.removeValue(forKey: slot) { Syscall.close(fd) }
        freeSlots.append(slot)
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

    /// Largest slot file read back: far above what the writer leaves (the compaction threshold
    /// plus one budgeted batch); a larger file is not trusted, never read in part.
    static let maxSlotBytes = 64 << 20

    /// A slot file's contents, or why they cannot be used.
    private func read(slot: Int) -> Result<JournalFile.Contents, SlotDefect> {
        let bytes: [UInt8]
        do {
            bytes = try Syscall.readRegularFile(at: directoryFD, Self.slotName(slot), limit: Self.maxSlotBytes + 1)
        } catch {
            return .failure(SlotDefect(reason: "\(error)"))
        }
        guard bytes.count <= Self.maxSlotBytes else { return .failure(SlotDefect(reason: "larger than \(Self.maxSlotBytes) bytes")) }
        guard let contents = JournalFile.parse(bytes) else { return .failure(SlotDefect(reason: "no valid header line")) }
        if let defect = contents.defect { return .failure(SlotDefect(reason: defect)) }
        return .success(contents)
    }

    struct SlotDefect: Error {
        let reason: String
    }

    /// Loads one exec from disk.
    public func load(_ execId: String) -> Recovered? {
        if let ended = endedInMemory[execId] { return ended }
        guard let slot = slots[execId], case .success(let contents) = read(slot: slot), contents.header.execId == execId else { return nil }
        return Recovered(record: contents.record, lines: contents.lines)
    }

    /// A slot file found at boot that cannot be loaded: logged and moved to the set-aside
    /// directory (the newest `setAsideKept` are kept there), or removed if it cannot be moved.
    /// It never stops runnerd from starting, and its slot is free again.
    private func setAside(_ name: String, _ defect: SlotDefect) {
        let now = String(Syscall.nowMs())
        let aside = String(repeating: "0", count: max(0, 15 - now.count)) + now + "-" + name
        var movedTo: String?
        if let setAsideFD {
            pruneSetAside(setAsideFD, keeping: Self.setAsideKept - 1)
            if (try? Syscall.renameEntry(name, in: directoryFD, to: aside, in: setAsideFD)) != nil { movedTo = "set-aside/\(aside)" }
        }
        if movedTo == nil { try? DirectoryTree.remove(name, in: directoryFD) }
        logger.error(
            "journal: a slot file cannot be loaded; set aside",
            metadata: ["file": "\(name)", "reason": "\(defect.reason)", "movedTo": "\(movedTo ?? "(removed)")"])
    }

    /// Removes the oldest set-aside files beyond `keeping` (names start with the time they were set aside).
    private func pruneSetAside(_ fd: CInt, keeping: Int) {
        let names = ((try? Syscall.listDirectory(fd: fd)) ?? []).sorted()
        for name in names.dropLast(keeping) { try? DirectoryTree.remove(name, in: fd) }
    }

    /// At boot: every exec on disk, in finish order. Execs that were running when runnerd died
    /// get a final `exit` with `lost: true` (their processes, if still alive, are killed).
    public func recoverAll() -> [Recovered] {
        defer {
            if let setAsideFD { Syscall.close(setAsideFD) }
            setAsideFD = nil
        }
        var found: [(slot: Int, contents: JournalFile.Contents)] = []
        for name in (try? Syscall.listDirectory(fd: directoryFD)) ?? [] {
            // Leftovers of a crash (compaction temp files) or of an older layout.
            guard let slot = Self.slotNumber(name) else {
                try? DirectoryTree.remove(name, in: directoryFD)
                continue
            }
            slotCount = max(slotCount, slot + 1)
            switch read(slot: slot) {
            case .success(let contents): found.append((slot, contents))
            case .failure(let defect): setAside(name, defect)
            }
        }
        nextOrdinal = (found.map(\.contents.header.ordinal).max() ?? 0) + 1
        nextFinishOrder = (found.compactMap(\.contents.trailer?.finishOrder).max() ?? 0) + 1
        // Ended before the crash, in finish order; then the ones that end now, in start order.
        let ended = found.filter { $0.contents.trailer != nil }.sorted { $0.contents.trailer!.finishOrder < $1.contents.trailer!.finishOrder }
        let ending = found.filter { $0.contents.trailer == nil }.sorted { $0.contents.header.ordinal < $1.contents.header.ordinal }
        var recovered: [(slot: Int, item: Recovered)] = ended.map { ($0.slot, Recovered(record: $0.contents.record, lines: $0.contents.lines)) }
        for (slot, contents) in ending {
            recovered.append((slot, endAtBoot(slot: slot, contents)))
        }
        // An id reused after its first exec was pruned: the later one is the exec.
        var seen: Set<String> = []
        recovered = recovered.reversed().filter { seen.insert($0.item.record.execId).inserted }.reversed()
        recovered = Array(recovered.suffix(maxExecs))
        for (slot, item) in recovered {
            slots[item.record.execId] = slot
            finishedOrder.append(item.record.execId)
        }
        let used = Set(slots.values)
        freeSlots = (0..<slotCount).filter { !used.contains($0) }.reversed()
        return recovered.map(\.item)
    }

    /// An exec found without a trailer: running when runnerd died (it gets `exit` with
    /// `lost: true`), or its trailer was cut off. The file is rewritten whole, so nothing is
    /// appended after a line a crash may have torn.
    private func endAtBoot(slot: Int, _ contents: JournalFile.Contents) -> Recovered {
        var contents = contents
        let header = contents.header
        let now = Syscall.nowMs()
        var endedAtMs = now
        switch contents.terminal {
        case .exit(let exit):
            endedAtMs = header.startedAtMs + exit.durationMs
        case .fail:
            endedAtMs = header.startedAtMs
        default:
            if let pid = header.pid, header.isStillRunning(ProcessTable.stat(pid)) {
                // Still running from before the restart, unsupervised: end it.
                Syscall.signalGroup(pid, SIGKILL)
                logger.warning("journal: killed an exec left running by a previous runnerd", metadata: ["execId": "\(header.execId)", "pid": "\(pid)"])
            }
            let exit = ExecEvent.Exit(
                exitCode: -1, durationMs: max(0, now - header.startedAtMs), truncated: .init(stdout: false, stderr: false),
                timedOut: false, cancelled: false, lost: true)
            let event = ExecEvent(seq: contents.lastSeq + 1, .exit(exit))
            contents.lines.append((event.seq, EventWriter.line(event)))
            contents.terminal = event.body
        }
        let trailer = JournalTrailer(endedAtMs: endedAtMs, finishOrder: takeFinishOrder())
        contents.trailer = trailer
        let entries = contents.lines.map { EventRing.Entry(seq: $0.seq, line: $0.line) }
        let recovered = Recovered(record: contents.record, lines: contents.lines)
        do {
            Syscall.close(try rewrite(slot: slot, header: header, lines: entries, trailer: trailer))
        } catch {
            endedInMemory[header.execId] = recovered
        }
        return recovered
    }
}
