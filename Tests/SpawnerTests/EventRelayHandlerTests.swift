import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOHTTPTypes
import RunnerProtocol
@testable import SpawnerCore
import Testing

/// The relay of runnerd's event stream into a client's channel, handler by handler on
/// `EmbeddedChannel`s sharing one loop: what reaches the client, when runnerd's stream is read
/// again, and how a relay ends (the end-to-end relay is in `ExecStreamTests`).
@Suite(.timeLimit(.minutes(1))) struct EventRelayHandlerTests {
    /// Counts the reads the relay asks of the upstream channel.
    final class ReadCounter: ChannelOutboundHandler {
        typealias OutboundIn = Never
        var reads = 0
        func read(context: ChannelHandlerContext) {
            reads += 1
            context.read()
        }
    }

    struct Relay {
        let upstream: EmbeddedChannel
        let client: EmbeddedChannel
        let counter: ReadCounter
        let handler: EventRelayHandler
        let head: EventLoopFuture<UpstreamHead>
        let finished: EventLoopFuture<RelaySummary>

        init() throws {
            let loop = EmbeddedEventLoop()
            let head = loop.makePromise(of: UpstreamHead.self)
            let finished = loop.makePromise(of: RelaySummary.self)
            counter = ReadCounter()
            handler = EventRelayHandler(headPromise: head, finishedPromise: finished, lineCap: 1 << 20, eventName: nil)
            upstream = EmbeddedChannel(handlers: [counter, handler], loop: loop)
            client = EmbeddedChannel(loop: loop)
            try upstream.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
            try client.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 2)).wait()
            self.head = head.futureResult
            self.finished = finished.futureResult
        }

        func receive(_ part: HTTPClientResponsePart) throws {
            try upstream.writeInbound(part)
        }

        /// The bytes the client was sent so far.
        func sent() throws -> [UInt8] {
            var bytes: [UInt8] = []
            while let part = try client.readOutbound(as: HTTPResponsePart.self) {
                if case .body(let buffer) = part { bytes += buffer.readableBytesView }
            }
            return bytes
        }
    }

    static let lines: [ByteBuffer] = [
        EventWriter.line(ExecEvent(seq: 1, .start(.init(execId: "e", startedAtMs: 5, pid: 9)))),
        EventWriter.line(ExecEvent(seq: 2, .stdout(Array("hello".utf8)))),
        EventWriter.line(ExecEvent(seq: 3, .exit(.init(exitCode: 0, durationMs: 1, truncated: .init(stdout: false, stderr: false), timedOut: false, cancelled: false)))),
    ]

    /// The SSE message of a line, as the relay must send it.
    static func message(_ line: ByteBuffer) throws -> [UInt8] {
        var trimmed = line
        trimmed.moveWriterIndex(to: trimmed.writerIndex - 1)
        return Array(try #require(SSEFrame.encode(line: trimmed)).readableBytesView)
    }

    static let ok = HTTPClientResponsePart.head(HTTPResponseHead(version: .http1_1, status: .ok))

    @Test func heldEventsGoOutOnStartThenEachReadFollowsTheClientsWrite() throws {
        let relay = try Relay()
        try relay.receive(Self.ok)
        guard case .events = try relay.head.wait() else {
            Issue.record("a 200 is an event stream")
            return
        }
        // Before the relay starts, what arrives is held and nothing more is read.
        var first = Self.lines[0]
        var second = Self.lines[1]
        let cutAt = second.readableBytes / 2
        var chunk = ByteBuffer()
        chunk.writeBuffer(&first)
        chunk.writeBytes(second.readBytes(length: cutAt)!)
        try relay.receive(.body(chunk))
        let readsBefore = relay.counter.reads
        #expect(try relay.sent().isEmpty)

        // Started: the complete line goes out at once, and one more read is asked for.
        relay.handler.startRelay(to: relay.client, onBytes: { _ in })
        #expect(try relay.sent() == Self.message(Self.lines[0]))
        #expect(relay.counter.reads == readsBefore + 1)

        // The rest of the cut line and the last one, in one read: both go out, one more read.
        var rest = ByteBuffer(bytes: second.readableBytesView)
        var third = Self.lines[2]
        rest.writeBuffer(&third)
        try relay.receive(.body(rest))
        #expect(try relay.sent() == Self.message(Self.lines[1]) + Self.message(Self.lines[2]))
        #expect(relay.counter.reads == readsBefore + 2)

        // runnerd's end ends the relay cleanly and closes the upstream connection.
        try relay.receive(.end(nil))
        #expect(try relay.finished.wait().skippedLines == 0)
        #expect(!relay.upstream.isActive)
        #expect(relay.client.isActive, "the client's channel is the caller's to end")
    }

    @Test func anAnswerOtherThan200IsCollectedWhole() throws {
        let relay = try Relay()
        try relay.receive(.head(HTTPResponseHead(version: .http1_1, status: .notFound, headers: ["content-type": "application/json"])))
        try relay.receive(.body(ByteBuffer(string: #"{"error":"#)))
        try relay.receive(.body(ByteBuffer(string: #""not_found"}"#)))
        try relay.receive(.end(nil))
        guard case .answer(let status, let contentType, let body) = try relay.head.wait() else {
            Issue.record("a 404 is an answer")
            return
        }
        #expect(status == 404)
        #expect(contentType == "application/json")
        #expect(String(buffer: body) == #"{"error":"not_found"}"#)
        #expect(!relay.upstream.isActive)
    }

    @Test func aStreamCutMidLineEndsTruncated() throws {
        let relay = try Relay()
        try relay.receive(Self.ok)
        relay.handler.startRelay(to: relay.client, onBytes: { _ in })
        var line = Self.lines[1]
        try relay.receive(.body(ByteBuffer(bytes: line.readBytes(length: 5)!)))
        try relay.upstream.close().wait()
        #expect(throws: RelayError.truncated) { try relay.finished.wait() }
    }

    @Test func theClientGoingAwayEndsTheRelayAndClosesUpstream() throws {
        let relay = try Relay()
        try relay.receive(Self.ok)
        relay.handler.startRelay(to: relay.client, onBytes: { _ in })
        try relay.receive(.body(Self.lines[0]))
        try relay.client.close().wait()
        #expect(throws: RelayError.clientGone) { try relay.finished.wait() }
        #expect(!relay.upstream.isActive)
    }
}
