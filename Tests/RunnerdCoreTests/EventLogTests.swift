import NIOCore
import RunnerProtocol
@testable import RunnerdCore
import Testing

/// Records everything the log does to it. `unsent` grows on `deliver` and is cleared by
/// `flush` unless the consumer is `stalled` (a peer that stopped reading).
final class FakeConsumer: EventConsumer {
    var delivered: [ByteBuffer] = []
    var flushes = 0
    var finished = 0
    var dropped = 0
    var stalled = false
    var pacing = false
    var unsent = 0

    init(stalled: Bool = false) { self.stalled = stalled }

    func deliver(_ line: ByteBuffer) {
        delivered.append(line)
        unsent += line.readableBytes
    }

    func flush() {
        flushes += 1
        if !stalled { unsent = 0 }
    }

    func finish() { finished += 1 }
    func drop() { dropped += 1 }
    var unsentBytes: Int { unsent }
    func isPacing(now: NIODeadline) -> Bool { pacing }

    var events: [ExecEvent] {
        get throws { try delivered.map { try WireJSON.decode(ExecEvent.self, from: $0.readableBytesView) } }
    }
}

@Suite(.timeLimit(.minutes(3))) struct EventLogTests {
    static let exit = ExecEvent.Body.exit(.init(exitCode: 0, durationMs: 1, truncated: .init(stdout: false, stderr: false),
                                                timedOut: false, cancelled: false))

    static func output(_ text: String) -> ByteBufferView { ByteBuffer(string: text).readableBytesView }

    @Test func seqsAreAssignedOneTwoThree() throws {
        let log = EventLog()
        let consumer = FakeConsumer()
        log.subscribe(consumer, after: 0)
        let start = log.append(.start(.init(execId: "e", startedAtMs: 1, pid: 2)))
        #expect(start.seq == 1)
        log.appendOutput(stderr: false, bytes: Self.output("out"))
        log.appendOutput(stderr: true, bytes: Self.output("err"))
        let exit = log.append(Self.exit)
        #expect(exit.seq == 4)
        #expect(log.lastSeq == 4)
        let events = try consumer.events
        #expect(events.map(\.seq) == [1, 2, 3, 4])
        #expect(events[1] == ExecEvent(seq: 2, .stdout(Array("out".utf8))))
        #expect(events[2] == ExecEvent(seq: 3, .stderr(Array("err".utf8))))
        #expect(events[3] == ExecEvent(seq: 4, Self.exit))
        #expect(log.retained.map(\.seq) == [1, 2, 3, 4])
    }

    @Test func terminalEventFinishesEveryConsumer() throws {
        let log = EventLog()
        let a = FakeConsumer(), b = FakeConsumer()
        log.subscribe(a, after: 0)
        log.subscribe(b, after: 0)
        #expect(log.consumerCount == 2)
        log.appendOutput(stderr: false, bytes: Self.output("x"))
        #expect(a.finished == 0)
        #expect(!log.isFinished)
        log.append(.fail(.init(code: .spawnFailed, message: "no such file")))
        #expect(log.isFinished)
        #expect(log.consumerCount == 0)
        for consumer in [a, b] {
            #expect(consumer.finished == 1)
            #expect(consumer.dropped == 0)
            #expect(try consumer.events.last?.kind == .fail)
        }
    }

    @Test func subscribeReplaysOnlyWhatIsAfterTheGivenSeq() throws {
        let log = EventLog()
        for i in 1...5 { log.appendOutput(stderr: false, bytes: Self.output("line\(i)")) }
        let consumer = FakeConsumer()
        log.subscribe(consumer, after: 3)
        #expect(try consumer.events.map(\.seq) == [4, 5])
        #expect(consumer.flushes >= 1)
        #expect(log.consumerCount == 1)
        log.appendOutput(stderr: false, bytes: Self.output("live"))
        #expect(try consumer.events.map(\.seq) == [4, 5, 6])
        #expect(log.gapsServed == 0)
    }

    @Test func subscribeAfterEvictionGetsAGapWhoseSeqIsToSeq() throws {
        let log = EventLog(ringBytes: 200)
        for i in 1...20 { log.appendOutput(stderr: false, bytes: Self.output("chunk-\(i)")) }
        let oldest = try #require(log.retained.first?.seq)
        #expect(oldest > 3)
        let consumer = FakeConsumer()
        log.subscribe(consumer, after: 2)
        let events = try consumer.events
        let gap = try #require(events.first)
        #expect(gap == ExecEvent(seq: oldest - 1, .gap(.init(fromSeq: 3, toSeq: oldest - 1))))
        #expect(events.dropFirst().map(\.seq) == Array(oldest...20))
        #expect(events.dropFirst().allSatisfy { $0.kind == .stdout })
        #expect(log.gapsServed == 1)
        // The replayed lines are byte-for-byte the retained ones.
        #expect(Array(consumer.delivered.dropFirst()) == log.retained.map(\.line))
    }

    @Test func consumerOverTheUnsentLimitIsDroppedAndCounted() throws {
        let log = EventLog(maxUnsentBytes: 200)
        var changes = 0
        log.onConsumersChanged = { changes += 1 }
        let slow = FakeConsumer(stalled: true)
        let fast = FakeConsumer()
        log.subscribe(slow, after: 0)
        log.subscribe(fast, after: 0)
        var appended = 0
        while slow.dropped == 0 && appended < 100 {
            log.appendOutput(stderr: false, bytes: Self.output("0123456789"))
            log.flush()
            appended += 1
        }
        #expect(slow.dropped == 1)
        #expect(slow.unsent > 200)
        #expect(slow.unsent - (slow.delivered.last?.readableBytes ?? 0) <= 200, "dropped as soon as it passed the limit")
        #expect(log.consumersDropped == 1)
        #expect(log.consumerCount == 1)
        #expect(changes == 1)
        let deliveredBefore = slow.delivered.count
        log.appendOutput(stderr: false, bytes: Self.output("more"))
        #expect(slow.delivered.count == deliveredBefore, "no delivery after the drop")
        #expect(fast.dropped == 0)
        #expect(try fast.events.map(\.seq) == Array(1...UInt64(appended + 1)))
        log.append(Self.exit)
        #expect(slow.finished == 0)
        #expect(fast.finished == 1)
    }

    @Test func consumerWhoseReplayPassesTheLimitIsDroppedAtSubscribe() {
        let log = EventLog(maxUnsentBytes: 100)
        for _ in 1...10 { log.appendOutput(stderr: false, bytes: Self.output("0123456789")) }
        let slow = FakeConsumer(stalled: true)
        log.subscribe(slow, after: 0)
        #expect(slow.dropped == 1)
        #expect(slow.delivered.count == 10)
        #expect(log.consumersDropped == 1)
        #expect(log.consumerCount == 0)
        log.appendOutput(stderr: false, bytes: Self.output("x"))
        #expect(slow.delivered.count == 10)
    }

    @Test func finishedLogReplaysThenFinishes() throws {
        let log = EventLog()
        log.append(.start(.init(execId: "e", startedAtMs: 1, pid: 2)))
        log.appendOutput(stderr: false, bytes: Self.output("hi"))
        log.append(Self.exit)
        let late = FakeConsumer()
        log.subscribe(late, after: 0)
        #expect(try late.events.map(\.kind) == [.start, .stdout, .exit])
        #expect(late.finished == 1)
        #expect(late.dropped == 0)
        #expect(log.consumerCount == 0)
        let resumed = FakeConsumer()
        log.subscribe(resumed, after: 3)
        #expect(resumed.delivered.isEmpty)
        #expect(resumed.finished == 1)
    }

    @Test func finishedLogWithEvictionStillDeliversTheTerminalEvent() throws {
        let log = EventLog(ringBytes: 10)
        for _ in 1...5 { log.appendOutput(stderr: false, bytes: Self.output("0123456789")) }
        log.append(Self.exit)
        let consumer = FakeConsumer()
        log.subscribe(consumer, after: 0)
        let events = try consumer.events
        #expect(events.map(\.kind) == [.gap, .exit])
        #expect(events[0] == ExecEvent(seq: 5, .gap(.init(fromSeq: 1, toSeq: 5))))
        #expect(events[1].seq == 6)
        #expect(consumer.finished == 1)
    }

    @Test func unsubscribeStopsDeliveryAndNotifies() {
        let log = EventLog()
        var changes = 0
        log.onConsumersChanged = { changes += 1 }
        let consumer = FakeConsumer()
        log.subscribe(consumer, after: 0)
        log.unsubscribe(consumer)
        #expect(changes == 1)
        #expect(log.consumerCount == 0)
        log.appendOutput(stderr: false, bytes: Self.output("x"))
        #expect(consumer.delivered.isEmpty)
        log.unsubscribe(consumer)
        #expect(changes == 1, "unsubscribing an unknown consumer is a no-op")
    }

    @Test func backpressureFollowsPacingConsumers() {
        let log = EventLog()
        let a = FakeConsumer(), b = FakeConsumer()
        log.subscribe(a, after: 0)
        log.subscribe(b, after: 0)
        #expect(!log.isBackpressured(now: .now()))
        b.pacing = true
        #expect(log.isBackpressured(now: .now()))
        log.unsubscribe(b)
        #expect(!log.isBackpressured(now: .now()))
    }

    @Test func flushReachesLiveConsumers() {
        let log = EventLog()
        let consumer = FakeConsumer()
        log.subscribe(consumer, after: 0)
        let before = consumer.flushes
        log.flush()
        #expect(consumer.flushes == before + 1)
    }
}
