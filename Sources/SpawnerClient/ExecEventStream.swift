import AsyncHTTPClient
import RunnerProtocol

/// An exec's events from the spawner's SSE stream, each decoded from its `data:` line.
public typealias ExecEventStream = DecodedSequence<SSEMessageSequence<HTTPClientResponse.Body>, ExecEvent>

extension DecodedSequence where Base == SSEMessageSequence<HTTPClientResponse.Body>, Element == ExecEvent {
    init(messages: Base) {
        self.init(base: messages) { message in
            do {
                return try EventReader.decode(message.data)
            } catch {
                throw SpawnerClientError.malformedEvent(String(decoding: message.data.prefix(200), as: UTF8.self))
            }
        }
    }
}

extension SpawnerClient {
    /// Follows an exec to its end: hands every event to `onEvent` once, in order, and when
    /// the stream breaks, re-attaches after the last event seen (up to `maxReconnects` times
    /// in a row). Returns the `exit` or `fail` event.
    ///
    /// `start` starts the exec; pass nil to follow one that is already running.
    public func follow(
        _ sessionId: String, execId: String, start: ExecRequest? = nil, after lastEventId: UInt64 = 0, maxReconnects: Int = 5,
        onEvent: (ExecEvent) async throws -> Void
    ) async throws -> ExecEvent {
        var lastSeq = lastEventId
        var failures = 0
        var pending = start
        while true {
            do {
                let stream: ExecEventStream
                if let request = pending {
                    stream = try await exec(sessionId, request)
                } else {
                    stream = try await attach(sessionId, execId, lastEventId: lastSeq)
                }
                pending = nil
                for try await event in stream {
                    guard event.seq > lastSeq else { continue }  // already handed over before a reconnect
                    lastSeq = event.seq
                    failures = 0
                    try await onEvent(event)
                    if event.isTerminal { return event }
                }
            } catch let error as SpawnerClientError {
                // The server answered: nothing a reconnect would change, unless the stream was cut.
                guard error == .truncatedStream else { throw error }
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                if pending != nil { throw error }  // the exec may not have started: do not guess
            }
            failures += 1
            if failures > maxReconnects { throw SpawnerClientError.truncatedStream }
            try await Task.sleep(for: .milliseconds(100 * failures))
        }
    }
}
