import Glibc
import Logging
import NIOCore
import RunnerProtocol
@testable import RunnerdCore
import SystemSupport
import Testing

/// The journal on a real directory: slot files, pruning, slot reuse, compaction and recovery.
@Suite(.timeLimit(.minutes(3))) struct ExecJournalTests {
    static let logger = Logger(label: "journal-test")

    /// A fresh private state dir; its fd stays open for the test.
    static func stateDirectory() throws -> (path: String, fd: CInt) {
        var template = Array("/tmp/journal-test-XXXXXX".utf8CString)
        let path = String(cString: try #require(mkdtemp(&template)))
        return (path, try StateDirectory.open(path, logger: logger))
    }

    static func files(_ state: String) -> [String] {
        ((try? Syscall.listDirectory(state + "/execs")) ?? []).sorted()
    }

    static func exitEvent(_ code: Int32) -> ExecEvent.Body {
        .exit(.init(exitCode: code, durationMs: 7, truncated: .init(stdout: false, stderr: false), timedOut: false, cancelled: false))
    }

    /// Runs one exec through an `EventLog` with the journal attached, like `Exec` does.
    @discardableResult
    /// An exec left running must be given a real process of its own (`pid`): recovery kills it.
    static func run(
        _ journal: ExecJournal, _ id: String, output: [[UInt8]] = [], finish: Bool = true, endedAtMs: Int64 = 1_000, pid: pid_t = getpid(),
        spawnedBetween: ClosedRange<UInt64> = 0...0
    ) -> EventLog {
        let log = EventLog()
        log.journal = journal.started(execId: id, argv: ["echo", id], startedAtMs: 500)
        log.journal?.spawned(pid: pid, between: spawnedBetween)
        log.append(.start(.init(execId: id, startedAtMs: 500, pid: pid)))
        log.flush()
        for chunk in output {
            chunk.withUnsafeBytes { log.appendOutput(stderr: false, bytes: ByteBuffer(bytes: $0).readableBytesView) }
            log.flush()
        }
        if finish { log.append(exitEvent(3), endedAtMs: endedAtMs) }
        return log
    }

    @Test func headerAndTrailerLinesParseBack() throws {
        let header = JournalHeader(execId: "a\"b", argvDigest: "d", startedAtMs: -1, ordinal: 9, pid: 42, pidStartTime: 77)
        let trailer = JournalTrailer(endedAtMs: 12, finishOrder: 3)
        var file = JournalFile.headerLine(header)
        let events = [ExecEvent(seq: 1, .stdout([1, 2, 3])), ExecEvent(seq: 2, Self.exitEvent(0))]
        for event in events { file.writeImmutableBuffer(EventWriter.line(event)) }
        file.writeImmutableBuffer(JournalFile.trailerLine(trailer))
        let contents = try #require(JournalFile.parse(Array(file.readableBytesView)))
        #expect(contents.header == header)
        #expect(contents.trailer == trailer)
        #expect(contents.lines.map(\.seq) == [1, 2])
        #expect(try contents.lines.map { try EventReader.decode($0.line.getSlice(at: $0.line.readerIndex, length: $0.line.readableBytes - 1)!) } == events)
        #expect(contents.record.state == .exited)
        #expect(contents.record.endedAtMs == 12)
        #expect(contents.record.exit?.exitCode == 0)
    }

    @Test func tornAndForeignFilesAreReadSafely() throws {
        let header = JournalFile.headerLine(JournalHeader(execId: "x", argvDigest: "d", startedAtMs: 1, ordinal: 1))
        #expect(JournalFile.parse([]) == nil)
        #expect(JournalFile.parse(Array(#"{"seq":1,"t":"stdout","b64":""}"#.utf8) + [10]) == nil, "no header")
        #expect(JournalFile.parse(Array(header.readableBytesView.dropLast(3))) == nil, "torn header")
        // A torn event ends the file: what follows it is not trusted.
        var file = header
        file.writeImmutableBuffer(EventWriter.line(ExecEvent(seq: 1, .stdout([65]))))
        file.writeString(#"{"seq":2,"t":"std"#)
        file.writeString("\n")
        file.writeImmutableBuffer(EventWriter.line(ExecEvent(seq: 3, Self.exitEvent(0))))
        let torn = try #require(JournalFile.parse(Array(file.readableBytesView)))
        #expect(torn.lines.map(\.seq) == [1])
        #expect(torn.terminal == nil)
        #expect(torn.record.state == .running)
        // A trailer with no terminal event before it is not an end.
        var noTerminal = header
        noTerminal.writeImmutableBuffer(JournalFile.trailerLine(JournalTrailer(endedAtMs: 1, finishOrder: 1)))
        #expect(try #require(JournalFile.parse(Array(noTerminal.readableBytesView))).trailer == nil)
    }

    @Test func parseKeepsOnlyAReplayRingOfEvents() throws {
        var file = JournalFile.headerLine(JournalHeader(execId: "x", argvDigest: "d", startedAtMs: 1, ordinal: 1))
        for seq in 1...100 { file.writeImmutableBuffer(EventWriter.line(ExecEvent(seq: UInt64(seq), .stdout(Array(repeating: 7, count: 300))))) }
        let contents = try #require(JournalFile.parse(Array(file.readableBytesView), ringBytes: 4096))
        #expect(contents.lines.reduce(0) { $0 + $1.line.readableBytes } <= 4096)
        #expect(contents.lines.last?.seq == 100)
        #expect(contents.lines.map(\.seq) == Array(UInt64(101 - contents.lines.count)...100))
    }

    @Test func anExecIsOneSlotFileWithHeaderEventsAndTrailer() throws {
        let (state, fd) = try Self.stateDirectory()
        defer { close(fd) }
        let journal = try ExecJournal(stateDirectory: fd, logger: Self.logger)
        let log = Self.run(journal, "one", output: [Array("hi\n".utf8)], endedAtMs: 4242)
        #expect(Self.files(state) == ["slot-0.ndjson"])
        let loaded = try #require(journal.load("one"))
        #expect(loaded.record.execId == "one")
        #expect(loaded.record.pid == getpid())
        #expect(loaded.record.header.pidStartTime == 0)
        #expect(!loaded.record.header.isStillRunning(ProcessTable.stat(getpid())), "another process than the one recorded")
        #expect(loaded.record.header.argvDigest == JournalRecord.digest(["echo", "one"]))
        #expect(loaded.record.state == .exited)
        #expect(loaded.record.exit?.exitCode == 3)
        #expect(loaded.record.endedAtMs == 4242)
        #expect(loaded.lines.map { Array($0.line.readableBytesView) } == log.retained.map { Array($0.line.readableBytesView) })
        #expect(journal.load("other") == nil)
        #expect(journal.contains("one"))
    }

    @Test func pruningFreesSlotsThatTheNextExecsReuse() throws {
        let (state, fd) = try Self.stateDirectory()
        defer { close(fd) }
        let journal = try ExecJournal(stateDirectory: fd, maxExecs: 3, logger: Self.logger)
        for index in 0..<3 { Self.run(journal, "e\(index)") }
        #expect(Self.files(state) == ["slot-0.ndjson", "slot-1.ndjson", "slot-2.ndjson"])
        Self.run(journal, "e3")  // a 4th slot; its end prunes e0
        #expect(!journal.contains("e0"))
        #expect(journal.load("e0") == nil)
        for index in 4..<10 { Self.run(journal, "e\(index)") }
        #expect(Self.files(state).count == 4, "slots are reused, not created: \(Self.files(state))")
        #expect((0..<7).allSatisfy { !journal.contains("e\($0)") })
        #expect((7..<10).allSatisfy { journal.load("e\($0)")?.record.exit?.exitCode == 3 })
    }

    @Test func liveExecsAreNeverPrunedAndFinishOrderDecides() throws {
        let (_, fd) = try Self.stateDirectory()
        defer { close(fd) }
        let journal = try ExecJournal(stateDirectory: fd, maxExecs: 2, logger: Self.logger)
        let long = Self.run(journal, "long", finish: false, pid: 0x7FFF_FFF0)
        for index in 0..<4 { Self.run(journal, "s\(index)") }
        #expect(journal.contains("long"), "a live exec keeps its slot")
        long.append(Self.exitEvent(0), endedAtMs: 9)
        // "long" finished last: it is kept, the older of the short ones goes.
        #expect(journal.contains("long"))
        #expect(journal.contains("s3"))
        #expect(!journal.contains("s2"))
    }

    @Test func restartRecoversInFinishOrderAndEndsWhatWasRunning() throws {
        let (state, fd) = try Self.stateDirectory()
        defer { close(fd) }
        let devNull = open("/dev/null", O_RDWR)
        defer { close(devNull) }
        let before = Syscall.bootTimeNs()
        let orphan = try ProcessSpawner.spawn(SpawnSpec(
            argv: ["/bin/sleep", "30"], environment: [], cwdFD: nil, stdin: devNull, stdout: devNull, stderr: devNull, newSession: true))
        let spawned = before...Syscall.bootTimeNs()
        do {
            let journal = try ExecJournal(stateDirectory: fd, maxExecs: 3, logger: Self.logger)
            for index in 0..<5 { Self.run(journal, "e\(index)", output: [[UInt8(index)]]) }
            // Running when runnerd "dies": a real process in its own group, left unsupervised.
            let running = Self.run(journal, "running", output: [Array("partial".utf8)], finish: false, pid: orphan, spawnedBetween: spawned)
            #expect(running.lastSeq == 2)
        }
        // A compaction temp file left by a crash, and a file of an older layout.
        Disk.write(state + "/execs/.slot-1.ndjson.compact", "junk")
        Disk.write(state + "/execs/old.json", "{}")
        let journal = try ExecJournal(stateDirectory: fd, maxExecs: 3, logger: Self.logger)
        let recovered = journal.recoverAll()
        #expect(recovered.map(\.record.execId) == ["e3", "e4", "running"])
        #expect(!Self.files(state).contains(".slot-1.ndjson.compact"))
        #expect(!Self.files(state).contains("old.json"))
        let lost = try #require(recovered.last)
        #expect(lost.record.exit?.lost == true)
        #expect(lost.record.exit?.exitCode == -1)
        #expect(lost.lines.map(\.seq) == [1, 2, 3])
        #expect(lost.record.endedAtMs != nil)
        // Its process, still the same one (pid and start time), was killed.
        var status: CInt = 0
        #expect(waitpid(orphan, &status, 0) == orphan)
        #expect(status & 0x7F == SIGKILL, "the orphaned exec was killed, status \(status)")
        // The lost exit was written: a second restart reads the same, without a second exit.
        let again = try ExecJournal(stateDirectory: fd, maxExecs: 3, logger: Self.logger).recoverAll()
        #expect(again.map(\.record.execId) == ["e3", "e4", "running"])
        #expect(again.last?.lines.map(\.seq) == [1, 2, 3])
        #expect(again.last?.record.endedAtMs == lost.record.endedAtMs)
        // New execs after the restart continue the order and reuse the freed slots.
        Self.run(journal, "new")
        #expect(!journal.contains("e3"))
        #expect(journal.load("new")?.record.header.ordinal ?? 0 > lost.record.header.ordinal)
        #expect(Self.files(state).count == 4, "no slot beyond the ones that existed: \(Self.files(state))")
    }

    /// The header's start-time bounds come from the boot clock around the spawn, not from
    /// `/proc`: they must bracket what `/proc/PID/stat` says, or recovery would never find (and
    /// kill) an orphaned exec.
    @Test func spawnClockBoundsBracketTheProcStartTime() throws {
        let devNull = open("/dev/null", O_RDWR)
        defer { close(devNull) }
        for _ in 0..<50 {
            let before = Syscall.bootTimeNs()
            let pid = try ProcessSpawner.spawn(SpawnSpec(
                argv: ["/bin/sleep", "5"], environment: [], cwdFD: nil, stdin: devNull, stdout: devNull, stderr: devNull, newSession: true))
            let after = Syscall.bootTimeNs()
            let header = JournalHeader(
                execId: "x", argvDigest: "d", startedAtMs: 0, ordinal: 1, pid: pid,
                pidStartTime: ProcessTable.startTicks(bootTimeNs: before), pidStartTimeMax: ProcessTable.startTicks(bootTimeNs: after))
            let stat = ProcessTable.stat(pid)
            #expect(header.isStillRunning(stat), "start \(stat?.startTime ?? 0) not in \(header.pidStartTime!)...\(header.pidStartTimeMax!)")
            kill(pid, SIGKILL)
            var status: CInt = 0
            waitpid(pid, &status, 0)
        }
    }

    @Test func growingOutputIsCompactedToTheRing() throws {
        let (state, fd) = try Self.stateDirectory()
        defer { close(fd) }
        let journal = try ExecJournal(stateDirectory: fd, logger: Self.logger)
        let chunk = [UInt8](repeating: 0x61, count: 60_000)
        let log = Self.run(journal, "big", output: Array(repeating: chunk, count: 60), finish: false)
        let size = { (try? Syscall.readFile(state + "/execs/slot-0.ndjson", limit: 64 << 20).count) ?? -1 }
        #expect(size() <= ExecJournalWriter.compactionThreshold + 4 * Limits.replayRingBytes, "bounded while running: \(size())")
        log.append(Self.exitEvent(0), endedAtMs: 1)
        #expect(size() < Limits.replayRingBytes + 1024, "the ring and header/trailer once ended: \(size())")
        let loaded = try #require(journal.load("big"))
        #expect(loaded.lines.map(\.seq) == log.retained.map(\.seq))
        #expect(loaded.record.exit?.exitCode == 0)
    }
}

extension ExecJournalTests {
    /// Output beyond the write budget is journaled as seq marks: the file stays small, a crash
    /// then recovers a contiguous tail with a `gap` before it (never a reused seq), and the end
    /// of the exec writes the exact ring.
    @Test func outputOverTheWriteBudgetIsMarkedAndTheEndRestoresTheRing() throws {
        let (state, fd) = try Self.stateDirectory()
        defer { close(fd) }
        // A budget far below any machine's write speed: the test does not depend on timing.
        let budget = ExecJournal.WriteBudget(bytesPerSecond: 64 << 10, burstBytes: 1 << 20)
        let journal = try ExecJournal(stateDirectory: fd, writeBudget: budget, logger: Self.logger)
        let chunk = [UInt8](repeating: 0x62, count: 64 << 10)
        // 8 MiB in one go: far past the burst budget.
        let log = Self.run(journal, "fast", output: Array(repeating: chunk, count: 128), finish: false)
        let path = state + "/execs/slot-0.ndjson"
        let bytes = try Syscall.readFile(path, limit: 64 << 20)
        #expect(bytes.count < budget.burstBytes + 64 << 10, "journaled \(bytes.count) bytes of 8 MiB")
        #expect(String(decoding: bytes, as: UTF8.self).contains(#"{"j":"mark","seq":"#))
        let contents = try #require(JournalFile.parse(bytes))
        #expect(contents.lastSeq == log.lastSeq, "the marks carry the log's last seq")
        #expect(contents.lines.last.map { $0.seq <= log.lastSeq } ?? true)

        // A crash now: the recovered exec ends after the last seq the log had.
        let recovered = try #require(try ExecJournal(stateDirectory: fd, logger: Self.logger).recoverAll().first)
        #expect(recovered.record.exit?.lost == true)
        #expect(recovered.lines.last?.seq == log.lastSeq + 1)
        let restored = EventLog()
        restored.restore(lines: recovered.lines, finished: true)
        let consumer = FakeConsumer()
        restored.subscribe(consumer, after: 0)
        let replay = try consumer.delivered.map { try EventReader.decode($0.getSlice(at: $0.readerIndex, length: $0.readableBytes - 1)!) }
        if case .gap(let gap) = replay.first?.body {
            #expect(gap.fromSeq == 1)
            #expect(gap.toSeq + 1 == replay.dropFirst().first?.seq)
        } else {
            Issue.record("a replay of a marked journal starts with a gap: \(replay.first.map { "\($0)" } ?? "nothing")")
        }
        #expect(replay.map(\.seq).dropFirst().elementsEqual((replay.dropFirst().first?.seq ?? 0)...(log.lastSeq + 1)))

        // The exec ends (in the first journal): the file is exactly the ring again.
        log.append(Self.exitEvent(0), endedAtMs: 5)
        let ended = try #require(journal.load("fast"))
        #expect(ended.lines.map(\.seq) == log.retained.map(\.seq))
        #expect(ended.lines.map { Array($0.line.readableBytesView) } == log.retained.map { Array($0.line.readableBytesView) })
    }

    /// A write that fails (here: the slot's descriptor swapped for /dev/full, ENOSPC) ends the
    /// exec's journaling for good: its slot is removed and freed, nothing — not even a
    /// compaction — recreates it, and the exec that takes the slot next is never touched.
    @Test func aFailedWriteGivesTheSlotUpAndNeverTouchesItAgain() throws {
        let (state, fd) = try Self.stateDirectory()
        defer { close(fd) }
        let journal = try ExecJournal(stateDirectory: fd, logger: Self.logger)
        let doomed = Self.run(journal, "doomed", output: [Array("before\n".utf8)], finish: false)
        #expect(Self.files(state) == ["slot-0.ndjson"])
        let devFull = open("/dev/full", O_WRONLY)
        defer { close(devFull) }
        doomed.journal?.fd = devFull
        let chunk = [UInt8](repeating: 0x63, count: 64 << 10)
        for _ in 0..<48 {  // 3 MiB: past the compaction threshold
            chunk.withUnsafeBytes { doomed.appendOutput(stderr: false, bytes: ByteBuffer(bytes: $0).readableBytesView) }
            doomed.flush()
        }
        #expect(!journal.contains("doomed"))
        #expect(journal.load("doomed") == nil)
        #expect(Self.files(state).isEmpty, "the slot was removed and not recreated: \(Self.files(state))")
        // The next exec takes the freed slot; the doomed exec's end leaves it alone.
        let next = Self.run(journal, "next", output: [Array("mine\n".utf8)], finish: false)
        doomed.append(Self.exitEvent(1), endedAtMs: 9)
        next.append(Self.exitEvent(0), endedAtMs: 10)
        #expect(Self.files(state) == ["slot-0.ndjson"])
        let loaded = try #require(journal.load("next"))
        #expect(loaded.record.exit?.exitCode == 0)
        #expect(loaded.lines.map { Array($0.line.readableBytesView) } == next.retained.map { Array($0.line.readableBytesView) })
        let recovered = try ExecJournal(stateDirectory: fd, logger: Self.logger).recoverAll()
        #expect(recovered.map(\.record.execId) == ["next"])
    }

    @Test func markLinesParse() throws {
        var file = JournalFile.headerLine(JournalHeader(execId: "x", argvDigest: "d", startedAtMs: 1, ordinal: 1))
        file.writeImmutableBuffer(EventWriter.line(ExecEvent(seq: 1, .stdout([1]))))
        file.writeImmutableBuffer(JournalFile.markLine(seq: 9))
        file.writeImmutableBuffer(EventWriter.line(ExecEvent(seq: 10, .stdout([2]))))
        var contents = try #require(JournalFile.parse(Array(file.readableBytesView)))
        #expect(contents.lines.map(\.seq) == [10], "lines before a mark are not contiguous with what follows")
        #expect(contents.lastSeq == 10)
        // A mark going backwards, or an event not after the mark, ends the file.
        file.writeImmutableBuffer(JournalFile.markLine(seq: 4))
        file.writeImmutableBuffer(EventWriter.line(ExecEvent(seq: 11, .stdout([3]))))
        contents = try #require(JournalFile.parse(Array(file.readableBytesView)))
        #expect(contents.lines.map(\.seq) == [10])
    }
}

private enum Disk {
    static func write(_ path: String, _ text: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        _ = text.withCString { Glibc.write(fd, $0, strlen($0)) }
        close(fd)
    }
}
