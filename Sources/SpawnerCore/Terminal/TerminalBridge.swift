import HummingbirdWebSocket
import Logging
import NIOCore
import RunnerProtocol
import RunnerdClient
import Synchronization

/// One terminal WebSocket bridged to a PTY exec of a session's runnerd.
///
/// Output: the exec's events (a new exec's stream, or an attach after `sinceSeq`) become
/// binary frames, one per `stdout` event; the `exit` event becomes the text frame
/// `{"exit":{…}}` and the socket closes with 1000. Input: binary frames are written to the
/// exec's stdin in order, text frames resize the terminal or signal its group. A client that
/// goes away leaves the shell running for `orphanTimeoutMs`, to re-attach with `execId` and
/// `sinceSeq`; while a client is attached, the bridge re-attaches periodically, which re-arms
/// that deadline.
struct TerminalBridge: Sendable {
    enum Target: Sendable {
        case start(ExecRequest)
        case attach(execId: String, sinceSeq: UInt64)
    }

    /// How long a shell outlives its last WebSocket (the exec's sliding deadline).
    static let orphanTimeoutMs: Int64 = 15 * 60_000
    /// How often an attached bridge re-arms the deadline.
    static let keepaliveInterval: Duration = .seconds(5 * 60)
    /// One stdin write carries at most this much (the contract's limit).
    static let stdinChunk = Limits.stdinMaxWriteBytes
    /// Largest inbound message.
    static let maxMessageBytes = 1 << 20

    let runnerd: RunnerdClient
    let logger: Logger

    /// The ExecRequest of a new terminal: a login shell (bash where there is one) on a PTY.
    static func shellRequest(execId: String, size: TerminalSize) -> ExecRequest {
        ExecRequest(
            execId: execId, shell: "if command -v bash >/dev/null 2>&1; then exec bash -l; else exec sh -l; fi",
            timeoutMs: orphanTimeoutMs, pty: size)
    }

    func run(_ target: Target, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async throws {
        // Input waits until the exec exists (runnerd has answered its start), or keystrokes
        // typed at once would find no exec to go to.
        let (started, opened) = AsyncStream<Void>.makeStream()
        if !target.isStart { opened.finish() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await relayOutput(target, outbound: outbound, onStarted: { opened.finish() }) }
            group.addTask {
                for await _ in started {}
                try await relayInput(execId: target.execId, inbound: inbound)
            }
            // Whichever ends first (the shell exited, the client went away) ends the bridge.
            _ = try await group.next()
            group.cancelAll()
        }
    }

    private enum StreamEnd: Sendable {
        /// The exec's terminal event went out (and the socket was closed).
        case finished
        /// runnerd's stream ended without one.
        case cut
        /// Time to re-attach (which re-arms the exec's deadline).
        case refresh
    }

    /// runnerd's events to the socket. The stream is re-opened after the last seq sent, when
    /// runnerd's stream is cut and every `keepaliveInterval` (an attach re-arms the deadline).
    private func relayOutput(_ target: Target, outbound: WebSocketOutboundWriter, onStarted: @Sendable () -> Void) async throws {
        let sent = SentSeq(target.isStart ? 0 : target.afterSeq)
        var announced = false
        var failures = 0
        while !Task.isCancelled {
            do {
                let lines: NDJSONLineSequence<RunnerdClient.Body>
                if case .start(let request) = target, sent.value == 0 {
                    lines = try await runnerd.execLines(request)
                } else {
                    lines = try await runnerd.attachLines(target.execId, sinceSeq: sent.value)
                }
                onStarted()
                if !announced {
                    announced = true
                    try await send(TerminalFrame.Server(exec: .init(execId: target.execId, afterSeq: target.isStart ? 1 : target.afterSeq)), outbound)
                }
                let end = try await withThrowingTaskGroup(of: StreamEnd.self) { group in
                    group.addTask { try await relay(lines, sent: sent, outbound: outbound) }
                    group.addTask {
                        try await Task.sleep(for: Self.keepaliveInterval)
                        return .refresh
                    }
                    let first = try await group.next() ?? .cut
                    group.cancelAll()
                    return first
                }
                switch end {
                case .finished: return
                case .refresh: failures = 0
                case .cut: failures += 1
                }
            } catch let error as RunnerdClientError {
                guard case .status(let status, let body) = error else {
                    failures += 1
                    continue
                }
                // runnerd refused (a malformed request, an exec that is gone): say so and close.
                try await send(TerminalFrame.Server(fail: .init(code: .badRequest, message: "runnerd answered \(status): \(body)")), outbound)
                try await outbound.close(.unexpectedServerError, reason: "runnerd \(status)")
                return
            } catch is CancellationError {
                return
            } catch {
                failures += 1
                logger.debug("terminal stream from runnerd cut", metadata: ["execId": "\(target.execId)", "error": "\(error)"])
            }
            if failures > 5 {
                try await outbound.close(.unexpectedServerError, reason: "runnerd unreachable")
                return
            }
            if failures > 0 { try await Task.sleep(for: .milliseconds(100 * failures)) }
        }
    }

    /// One stream's events to the socket.
    private func relay(_ lines: NDJSONLineSequence<RunnerdClient.Body>, sent: SentSeq, outbound: WebSocketOutboundWriter) async throws -> StreamEnd {
        for try await line in lines {
            let event = try EventReader.decode(line)
            guard event.seq > sent.value else { continue }
            switch event.body {
            case .stdout(let bytes):
                try await outbound.write(.binary(ByteBuffer(bytes: bytes)))
            case .stderr, .start:
                break  // a terminal has no stderr
            case .gap(let gap):
                try await send(TerminalFrame.Server(gap: gap), outbound)
            case .exit(let exit):
                try await send(TerminalFrame.Server(exit: exit), outbound)
                try await outbound.close(.normalClosure, reason: nil)
                return .finished
            case .fail(let fail):
                try await send(TerminalFrame.Server(fail: fail), outbound)
                try await outbound.close(.unexpectedServerError, reason: fail.code.rawValue)
                return .finished
            }
            sent.value = event.seq
        }
        return .cut
    }

    /// The socket's frames to runnerd, one request at a time so that keystrokes stay in order.
    private func relayInput(execId: String, inbound: WebSocketInboundStream) async throws {
        var messages = inbound.messages(maxSize: Self.maxMessageBytes).makeAsyncIterator()
        while let message = try await messages.next() {
            switch message {
            case .binary(var buffer):
                while buffer.readableBytes > 0 {
                    let piece = buffer.readBytes(length: min(buffer.readableBytes, Self.stdinChunk)) ?? []
                    let answer = try await runnerd.stdin(execId, StdinRequest(b64: Base64.encode(piece)))
                    if !answer.ok { logger.debug("terminal input refused", metadata: ["execId": "\(execId)", "reason": "\(answer.reason?.rawValue ?? "")"]) }
                }
            case .text(let text):
                guard let frame = try? WireJSON.decode(TerminalFrame.Client.self, from: Array(text.utf8)) else {
                    logger.debug("terminal text frame ignored", metadata: ["execId": "\(execId)"])
                    continue
                }
                if let size = frame.resize, size.rangeError == nil {
                    _ = try? await runnerd.resize(execId, size)
                }
                if let signal = frame.signal, ContractSignal(name: signal) != nil {
                    _ = try? await runnerd.signal(execId, signal)
                }
            }
        }
    }

    private func send(_ frame: TerminalFrame.Server, _ outbound: WebSocketOutboundWriter) async throws {
        try await outbound.write(.text(String(decoding: try WireJSON.encode(frame), as: UTF8.self)))
    }
}

extension TerminalBridge.Target {
    var isStart: Bool {
        if case .start = self { return true }
        return false
    }

    var execId: String {
        switch self {
        case .start(let request): request.execId
        case .attach(let execId, _): execId
        }
    }

    /// The seq output resumes after.
    var afterSeq: UInt64 {
        switch self {
        case .start: 1
        case .attach(_, let sinceSeq): sinceSeq
        }
    }
}

/// The seq of the last event sent to the socket, shared by the streams a bridge opens in turn.
final class SentSeq: Sendable {
    private let seq: Mutex<UInt64>
    init(_ seq: UInt64) { self.seq = Mutex(seq) }
    var value: UInt64 {
        get { seq.withLock { $0 } }
        set { seq.withLock { $0 = newValue } }
    }
}
