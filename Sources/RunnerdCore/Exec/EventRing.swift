import NIOCore

/// The replay buffer of one exec: its most recent encoded event lines, bounded in bytes.
///
/// Oldest lines are evicted once the total passes the capacity, but the newest line always
/// stays, so an attach to a finished exec can always read its `exit`/`fail`.
public struct EventRing {
    public let capacityBytes: Int
    private var entries = CircularBuffer<Entry>(initialCapacity: 64)
    public private(set) var bytes = 0

    public struct Entry {
        public let seq: UInt64
        public let line: ByteBuffer
    }

    public init(capacityBytes: Int) {
        self.capacityBytes = capacityBytes
    }

    public mutating func append(seq: UInt64, line: ByteBuffer) {
        entries.append(Entry(seq: seq, line: line))
        bytes += line.readableBytes
        while bytes > capacityBytes && entries.count > 1 {
            bytes -= entries.removeFirst().line.readableBytes
        }
    }

    /// Seq of the oldest retained line.
    public var oldestSeq: UInt64? { entries.first?.seq }

    public var count: Int { entries.count }

    /// What a consumer resuming after `seq` gets: the seqs it can no longer have (if any)
    /// and the retained lines after `seq`.
    /// Any `seq` is valid: past the newest line there is nothing to replay (no overflow at
    /// `UInt64.max`: `seq < oldest` bounds `seq + 1`).
    public func replay(after seq: UInt64) -> (missing: ClosedRange<UInt64>?, lines: [Entry]) {
        guard let oldest = oldestSeq else { return (nil, []) }
        let missing: ClosedRange<UInt64>? = seq < oldest && oldest - seq > 1 ? (seq + 1)...(oldest - 1) : nil
        guard let newest = entries.last?.seq, seq < newest else { return (missing, []) }
        return (missing, entries.filter { $0.seq > seq })
    }

    /// Every retained entry, oldest first.
    public var all: [Entry] { Array(entries) }
}
