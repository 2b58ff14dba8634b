import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import RunnerProtocol

/// What runnerd answered to a streamed request.
enum UpstreamHead: Sendable {
    /// `200`: the events follow, relayed by `EventStreamUpstream.relay(to:)`.
    case events
    /// Any other answer, whole.
    case answer(status: Int, contentType: String?, body: ByteBuffer)
}

/// Why a relay stopped early.
enum RelayError: Error, Equatable, CustomStringConvertible {
    /// runnerd's stream ended, or was cut, in the middle of an event.
    case truncated
    /// runnerd sent a line longer than the cap.
    case lineTooLong(Int)
    /// runnerd's non-200 answer was larger than `EventRelayHandler.maxAnswerBytes`.
    case answerTooLarge
    /// runnerd sent no response head in time.
    case headTimeout
    /// The client's connection closed.
    case clientGone
    /// The relay's task was cancelled (graceful shutdown's grace is over).
    case cancelled

    var description: String {
        switch self {
        case .truncated: "runnerd's stream ended in the middle of an event"
        case .lineTooLong(let cap): "runnerd sent a line longer than \(cap) bytes"
        case .answerTooLarge: "runnerd's answer is larger than \(EventRelayHandler.maxAnswerBytes) bytes"
        case .headTimeout: "runnerd sent no answer in time"
        case .clientGone: "the client went away"
        case .cancelled: "cancelled"
        }
    }
}

/// How a relay ended.
struct RelaySummary: Sendable {
    /// Lines runnerd sent that were not events (dropped).
    var skippedLines = 0
}

/// The last handler of an upstream channel to runnerd: reads the answer to one streamed
/// request and, once `startRelay` hands it the client's channel (on the same event loop),
/// frames runnerd's NDJSON events as SSE and writes them straight into that channel — no task,
/// no hop, no copy of the bulk of the bytes between the two sockets.
///
/// Backpressure: the upstream channel does not read by itself (`autoRead` off). After each
/// read, what it framed is written to the client and flushed; the next read is asked for once
/// that write has gone into the client's socket. So the spawner holds at most one read of
/// runnerd's stream per relay, whatever the client's speed, and a client that reads nothing
/// stops the reads from runnerd (which then paces the exec, or drops the consumer).
final class EventRelayHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart

    /// Largest non-200 answer relayed (runnerd's error bodies are a few hundred bytes).
    static let maxAnswerBytes = 1 << 20

    private enum State {
        case awaitingHead
        case collectingAnswer(status: Int, contentType: String?, body: ByteBuffer)
        /// A `200` head came; the events wait for `startRelay` (nothing more is read). `ended`:
        /// the answer's end came; `cut`: the connection closed before it did.
        case held(chunks: [ByteBuffer], ended: Bool, cut: Bool)
        case relaying(Relay)
        case done
    }

    private struct Relay {
        let downstream: any Channel
        var framer: SSEFramer
        var output = SSEOutput()
        let onBytes: @Sendable (Int) -> Void
        /// Graceful shutdown: end at the next line boundary.
        var stopAtBoundary = false
    }

    private var state = State.awaitingHead
    private var context: ChannelHandlerContext?
    private let headPromise: EventLoopPromise<UpstreamHead>
    private let finishedPromise: EventLoopPromise<RelaySummary>
    private let lineCap: Int
    private let eventName: String?

    init(
        headPromise: EventLoopPromise<UpstreamHead>, finishedPromise: EventLoopPromise<RelaySummary>, lineCap: Int, eventName: String?
    ) {
        self.headPromise = headPromise
        self.finishedPromise = finishedPromise
        self.lineCap = lineCap
        self.eventName = eventName
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        upstreamClosed()
        self.context = nil
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch (state, part) {
        case (.awaitingHead, .head(let head)):
            if head.status == .ok {
                state = .held(chunks: [], ended: false, cut: false)
                headPromise.succeed(.events)
            } else {
                let declared = head.headers.first(name: "content-length").flatMap(Int.init) ?? 0
                state = .collectingAnswer(
                    status: Int(head.status.code), contentType: head.headers.first(name: "content-type"),
                    body: context.channel.allocator.buffer(capacity: min(max(declared, 0), Self.maxAnswerBytes)))
            }
        case (.collectingAnswer(let status, let contentType, var body), .body(let chunk)):
            state = .done  // `body` is now the only reference
            guard body.readableBytes + chunk.readableBytes <= Self.maxAnswerBytes else {
                state = .collectingAnswer(status: status, contentType: contentType, body: body)
                return fail(RelayError.answerTooLarge)
            }
            body.writeImmutableBuffer(chunk)
            state = .collectingAnswer(status: status, contentType: contentType, body: body)
        case (.collectingAnswer(let status, let contentType, let body), .end):
            state = .done
            headPromise.succeed(.answer(status: status, contentType: contentType, body: body))
            finishedPromise.succeed(RelaySummary())
            context.close(promise: nil)
        case (.held(var chunks, let ended, let cut), .body(let chunk)):
            state = .done
            chunks.append(chunk)
            state = .held(chunks: chunks, ended: ended, cut: cut)
        case (.held(let chunks, _, _), .end):
            state = .held(chunks: chunks, ended: true, cut: false)
        case (.relaying(var relay), .body(let chunk)):
            state = .done  // the output's buffers are now uniquely held
            guard frame([chunk], into: &relay) else { return }
            if relay.stopAtBoundary && !relay.framer.isMidLine { finish() }
        case (.relaying, .end):
            finish()
        case (.done, _):
            break
        default:
            fail(RelayError.truncated)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        switch state {
        case .awaitingHead, .collectingAnswer: context.read()
        case .relaying: writeOutput(thenRead: true)
        case .held, .done: break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        upstreamClosed()
        context.fireChannelInactive()
    }

    /// runnerd's side closed (it does after every answer: `Connection: close`). Held events
    /// stay for the relay, which then ends cut if the answer's end never came.
    private func upstreamClosed() {
        switch state {
        case .held(let chunks, let ended, _):
            if !ended { state = .held(chunks: chunks, ended: true, cut: true) }
        case .relaying:
            fail(RelayError.truncated)
        case .awaitingHead, .collectingAnswer:
            fail(RelayError.truncated)
        case .done:
            break
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(error)
    }

    // MARK: Control (on the event loop)

    /// Starts relaying the events to `downstream`, a channel on this handler's event loop.
    func startRelay(to downstream: any Channel, onBytes: @escaping @Sendable (Int) -> Void) {
        guard case .held(let chunks, let ended, let cut) = state else { return }
        var relay = Relay(downstream: downstream, framer: SSEFramer(lineCap: lineCap, eventName: eventName), onBytes: onBytes)
        state = .done
        guard frame(chunks, into: &relay) else { return }
        // The client going away ends the relay and closes the upstream connection.
        downstream.closeFuture.assumeIsolated().whenComplete { [weak self] _ in self?.fail(RelayError.clientGone) }
        if cut {
            writeOutput(thenRead: false)
            fail(RelayError.truncated)
        } else if ended {
            finish()
        } else {
            writeOutput(thenRead: true)
        }
    }

    /// Ends the relay at the next line boundary (graceful shutdown): the client resumes with
    /// `Last-Event-ID` elsewhere.
    func stopAtBoundary() {
        switch state {
        case .relaying(var relay):
            if !relay.framer.isMidLine { return finish() }
            state = .done
            relay.stopAtBoundary = true
            state = .relaying(relay)
        case .held:
            state = .done
            finishedPromise.succeed(RelaySummary())
            context?.close(promise: nil)
        default:
            break
        }
    }

    /// Stops everything: whoever waits learns `error`, the upstream connection closes.
    func fail(_ error: any Error) {
        switch state {
        case .done:
            return
        case .awaitingHead, .collectingAnswer:
            headPromise.fail(error)
        case .held, .relaying:
            break
        }
        state = .done
        finishedPromise.fail(error)
        context?.close(promise: nil)
    }

    /// Frames `chunks` into the relay's output and makes `relay` the state again; false when a
    /// line is over the cap (the relay has then failed).
    private func frame(_ chunks: [ByteBuffer], into relay: inout Relay) -> Bool {
        do {
            for chunk in chunks { try relay.framer.append(chunk, into: &relay.output) }
        } catch {
            state = .relaying(relay)
            fail(RelayError.lineTooLong(error.cap))
            return false
        }
        state = .relaying(relay)
        return true
    }

    // MARK: Writing

    /// Writes what the framer produced to the client, flushed, and asks for the next read of
    /// runnerd's stream once the client's socket took it.
    private func writeOutput(thenRead: Bool) {
        guard case .relaying(var relay) = state else { return }
        state = .done
        let buffers = relay.output.take()
        state = .relaying(relay)
        guard let last = buffers.last else {
            if thenRead { context?.read() }
            return
        }
        var bytes = last.readableBytes
        for buffer in buffers.dropLast() {
            bytes += buffer.readableBytes
            relay.downstream.write(HTTPResponsePart.body(buffer), promise: nil)
        }
        relay.onBytes(bytes)
        let written = relay.downstream.eventLoop.makePromise(of: Void.self)
        relay.downstream.writeAndFlush(HTTPResponsePart.body(last), promise: written)
        written.futureResult.assumeIsolated().whenComplete { [weak self] result in
            guard let self else { return }
            switch result {
            case .success:
                if thenRead, case .relaying = self.state { self.context?.read() }
            case .failure:
                self.fail(RelayError.clientGone)
            }
        }
    }

    /// runnerd's stream ended (or a graceful shutdown reached a line boundary): what is framed
    /// goes out, and the relay ends — cleanly unless a line was cut.
    private func finish() {
        guard case .relaying(let relay) = state else { return }
        if relay.framer.isMidLine { return fail(RelayError.truncated) }
        writeOutput(thenRead: false)
        state = .done
        finishedPromise.succeed(RelaySummary(skippedLines: relay.framer.skipped))
        context?.close(promise: nil)
    }
}

