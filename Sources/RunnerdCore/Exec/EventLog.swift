import NIOCore
import RunnerProtocol

/// An exec's event log: assigns `seq`s, keeps the replay ring and fans lines out to consumers.
///
/// Loop-confined (the exec's event loop). Consumers that pass the unsent limit are dropped;
/// `isBackpressured` tells the exec to pause its pipes while a live consumer is behind.
public final class EventLog: EventSource {
    public private(set) var lastSeq: UInt64 = 0
    public private(set) var isFinished = false
    private var ring: EventRing
    private var consumers: [ObjectIdentifier: any EventConsumer] = [:]
    private let allocator = ByteBufferAllocator()
    private let maxUnsentBytes: Int
    /// Called when consumers were dropped or detached (pacing may resume).
    public var onConsumersChanged: (() -> Void)?
    /// Gaps served to resuming consumers (observability).
    public private(set) var gapsServed = 0
    /// Consumers dropped for falling behind (observability).
    public private(set) var consumersDropped = 0
    /// The durable copy: every line is written there before any client is flushed; released
    /// with the terminal event.
    var journal: ExecJournalWriter?
    var metrics: RunnerdMetrics?

    public init(ringBytes: Int = Limits.replayRingBytes, maxUnsentBytes: Int = Limits.consumerMaxUnsentBytes) {
        self.ring = EventRing(capacityBytes: ringBytes)
        self.maxUnsentBytes = maxUnsentBytes
    }

    public var consumerCount: Int { consumers.count }

    /// Appends an output chunk (the hot path: encoded straight from the pipe buffer).
    public func appendOutput(stderr: Bool, bytes: ByteBufferView) {
        let seq = lastSeq + 1
        var line = allocator.buffer(capacity: EventWriter.outputLineCapacity(bytes.count))
        bytes.withContiguousStorageIfAvailable { raw in
            EventWriter.writeOutput(seq: seq, stderr: stderr, bytes: UnsafeRawBufferPointer(raw), into: &line)
        } ?? Array(bytes).withUnsafeBytes { EventWriter.writeOutput(seq: seq, stderr: stderr, bytes: $0, into: &line) }
        commit(seq: seq, line: line, terminal: false, endedAtMs: 0)
    }

    /// Appends any event; its `seq` is assigned here. Returns the event as logged.
    /// - endedAtMs: for the terminal event, when the exec ended (the journal's trailer).
    @discardableResult
    public func append(_ body: ExecEvent.Body, endedAtMs: Int64 = 0) -> ExecEvent {
        precondition(!isFinished, "event appended after the terminal event")
        let event = ExecEvent(seq: lastSeq + 1, body)
        commit(seq: event.seq, line: EventWriter.line(event), terminal: event.isTerminal, endedAtMs: endedAtMs)
        return event
    }

    /// Restores a log from persisted lines (journal), without delivering anything.
    public func restore(lines: [(seq: UInt64, line: ByteBuffer)], finished: Bool) {
        for (seq, line) in lines {
            ring.append(seq: seq, line: line)
            lastSeq = seq
        }
        isFinished = finished
    }

    private func commit(seq: UInt64, line: ByteBuffer, terminal: Bool, endedAtMs: Int64) {
        lastSeq = seq
        ring.append(seq: seq, line: line)
        journal?.append(line, seq: seq)
        if terminal {
            isFinished = true
            journal?.finish(endedAtMs: endedAtMs, ring: ring)
            journal = nil
        }
        var dropped: [ObjectIdentifier] = []
        for (key, consumer) in consumers {
            consumer.deliver(line)
            if consumer.unsentBytes > maxUnsentBytes { dropped.append(key) }
        }
        for key in dropped { drop(key) }
        if terminal {
            let finishing = consumers.values
            consumers.removeAll()
            // `finish` writes the end of the stream and flushes it with the terminal event.
            for consumer in finishing { consumer.finish() }
        }
    }

    /// Sends what was queued; called once per batch of appends.
    public func flush() {
        journal?.sync(ring: ring)
        for consumer in consumers.values { consumer.flush() }
    }

    /// Replays retained lines after `seq` (preceded by a `gap` if some are gone), then keeps the
    /// consumer live until the log ends. A finished log just replays and finishes.
    /// - flush: false when an event is about to be flushed anyway (a new exec's `start`): the
    ///   response head then goes out with it instead of waking the client on its own.
    public func subscribe(_ consumer: any EventConsumer, after seq: UInt64, flush: Bool = true) {
        let replay = ring.replay(after: seq)
        if let missing = replay.missing {
            gapsServed += 1
            metrics?.gapServed()
            let gap = ExecEvent(seq: missing.upperBound, .gap(.init(fromSeq: missing.lowerBound, toSeq: missing.upperBound)))
            consumer.deliver(EventWriter.line(gap))
        }
        for entry in replay.lines { consumer.deliver(entry.line) }
        if flush || isFinished { consumer.flush() }
        if isFinished {
            consumer.finish()
        } else if consumer.unsentBytes > maxUnsentBytes {
            consumersDropped += 1
            metrics?.consumerDropped()
            consumer.drop()
        } else {
            consumers[ObjectIdentifier(consumer)] = consumer
        }
    }

    public func unsubscribe(_ consumer: any EventConsumer) {
        if consumers.removeValue(forKey: ObjectIdentifier(consumer)) != nil {
            onConsumersChanged?()
        }
    }

    public func consumerWritable() {
        onConsumersChanged?()
    }

    private func drop(_ key: ObjectIdentifier) {
        guard let consumer = consumers.removeValue(forKey: key) else { return }
        consumersDropped += 1
        metrics?.consumerDropped()
        consumer.drop()
        onConsumersChanged?()
    }

    /// Whether some consumer is behind but still reading, so the exec should pause its pipes.
    public func isBackpressured(now: NIODeadline) -> Bool {
        consumers.values.contains { $0.isPacing(now: now) }
    }

    /// Retained lines, oldest first.
    public var retained: [EventRing.Entry] { ring.all }
}
