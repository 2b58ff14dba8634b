import NIOCore
@testable import RunnerdCore
import Testing

@Suite(.timeLimit(.minutes(3))) struct EventRingTests {
    /// A line of exactly `size` bytes whose content identifies `seq`.
    static func line(_ seq: UInt64, size: Int) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: size)
        buffer.writeRepeatingByte(UInt8(ascii: "a") + UInt8(seq % 26), count: size)
        return buffer
    }

    @Test func emptyRing() {
        let ring = EventRing(capacityBytes: 100)
        #expect(ring.count == 0)
        #expect(ring.bytes == 0)
        #expect(ring.oldestSeq == nil)
        let replay = ring.replay(after: 0)
        #expect(replay.missing == nil)
        #expect(replay.lines.isEmpty)
    }

    @Test func evictionKeepsBytesWithinCapacity() {
        var ring = EventRing(capacityBytes: 100)
        var rng = SystemRandomNumberGenerator()
        var sizes: [UInt64: Int] = [:]
        for seq in UInt64(1)...200 {
            let size = Int.random(in: 5...40, using: &rng)
            sizes[seq] = size
            ring.append(seq: seq, line: Self.line(seq, size: size))
            #expect(ring.bytes <= 100)
            #expect(ring.bytes == ring.all.reduce(0) { $0 + $1.line.readableBytes })
            // Entries are contiguous and end at the newest.
            let seqs = ring.all.map(\.seq)
            #expect(seqs.last == seq)
            #expect(seqs == Array(seqs.first!...seq))
            // Not more was evicted than necessary: adding back the last evicted line would overflow.
            if let oldest = ring.oldestSeq, oldest > 1 {
                #expect(ring.bytes + sizes[oldest - 1]! > 100)
            }
        }
    }

    @Test func evictsOnlyWhatIsNeeded() {
        var ring = EventRing(capacityBytes: 100)
        for seq in UInt64(1)...4 { ring.append(seq: seq, line: Self.line(seq, size: 25)) }
        #expect(ring.bytes == 100)
        #expect(ring.count == 4)
        #expect(ring.oldestSeq == 1)
        ring.append(seq: 5, line: Self.line(5, size: 1))
        #expect(ring.oldestSeq == 2)
        #expect(ring.bytes == 76)
        ring.append(seq: 6, line: Self.line(6, size: 24))
        #expect(ring.oldestSeq == 2)
        #expect(ring.bytes == 100)
        ring.append(seq: 7, line: Self.line(7, size: 60))
        #expect(ring.all.map(\.seq) == [5, 6, 7])
        #expect(ring.bytes == 85)
    }

    @Test func alwaysKeepsTheNewestEntryEvenIfLargerThanCapacity() {
        var ring = EventRing(capacityBytes: 50)
        ring.append(seq: 1, line: Self.line(1, size: 10))
        ring.append(seq: 2, line: Self.line(2, size: 500))
        #expect(ring.count == 1)
        #expect(ring.oldestSeq == 2)
        #expect(ring.bytes == 500)
        let replay = ring.replay(after: 0)
        #expect(replay.missing == 1...1)
        #expect(replay.lines.map(\.seq) == [2])
        // The next small line evicts the oversized one.
        ring.append(seq: 3, line: Self.line(3, size: 10))
        #expect(ring.all.map(\.seq) == [3])
        #expect(ring.bytes == 10)
    }

    @Test func replayReturnsTheExactMissingRangeAndLines() throws {
        var ring = EventRing(capacityBytes: 100)
        for seq in UInt64(1)...10 { ring.append(seq: seq, line: Self.line(seq, size: 20)) }
        #expect(ring.all.map(\.seq) == [6, 7, 8, 9, 10])

        let fromStart = ring.replay(after: 0)
        #expect(fromStart.missing == 1...5)
        #expect(fromStart.lines.map(\.seq) == [6, 7, 8, 9, 10])
        #expect(fromStart.lines.map { String(buffer: $0.line) } == (6...10).map { String(buffer: Self.line(UInt64($0), size: 20)) })

        let fromThree = ring.replay(after: 3)
        #expect(fromThree.missing == 4...5)
        #expect(fromThree.lines.map(\.seq) == [6, 7, 8, 9, 10])

        let fromFour = ring.replay(after: 4)
        #expect(fromFour.missing == 5...5)

        let fromFive = ring.replay(after: 5)
        #expect(fromFive.missing == nil)
        #expect(fromFive.lines.map(\.seq) == [6, 7, 8, 9, 10])

        let fromEight = ring.replay(after: 8)
        #expect(fromEight.missing == nil)
        #expect(fromEight.lines.map(\.seq) == [9, 10])

        let fromEnd = ring.replay(after: 10)
        #expect(fromEnd.missing == nil)
        #expect(fromEnd.lines.isEmpty)

        let beyond = ring.replay(after: 99)
        #expect(beyond.missing == nil)
        #expect(beyond.lines.isEmpty)
    }

    @Test func replayWithNothingEvicted() {
        var ring = EventRing(capacityBytes: 1 << 20)
        for seq in UInt64(1)...3 { ring.append(seq: seq, line: Self.line(seq, size: 10)) }
        let replay = ring.replay(after: 0)
        #expect(replay.missing == nil)
        #expect(replay.lines.map(\.seq) == [1, 2, 3])
    }
}

@Suite(.timeLimit(.minutes(1))) struct EventRingBoundsTests {
    /// Any seq is a valid resume point: the largest one replays nothing and reports no gap
    /// (it used to overflow computing `seq + 1`).
    @Test func replayAfterAnySeqIncludingTheLargest() {
        var ring = EventRing(capacityBytes: 100)
        for seq in UInt64(1)...20 { ring.append(seq: seq, line: EventRingTests.line(seq, size: 10)) }
        #expect(ring.oldestSeq == 11)
        for seq in [UInt64(20), 21, 1 << 63, .max - 1, .max] {
            let replay = ring.replay(after: seq)
            #expect(replay.missing == nil, "after \(seq)")
            #expect(replay.lines.isEmpty, "after \(seq)")
        }
        #expect(ring.replay(after: 9).missing == 10...10)
        #expect(ring.replay(after: 10).missing == nil)
        #expect(ring.replay(after: 0).missing == 1...10)
        #expect(ring.replay(after: 19).lines.map(\.seq) == [20])
    }
}
