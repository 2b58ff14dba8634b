import AsyncHTTPClient
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import RunnerProtocol
import RunnerdClient
import ServiceLifecycle

/// Sends a request to a session's runnerd and relays the answer: status, content type and
/// body, streamed with the body's backpressure (a slow client slows the read from runnerd;
/// nothing is buffered without bound). Exec streams become Server-Sent Events.
struct RunnerdForwarder: Sendable {
    let registry: SessionRegistry
    let metrics: SpawnerMetrics

    /// `method path` to the session's runnerd with `body` as received; runnerd's answer.
    func forward(_ sessionId: String, _ method: HTTPMethod, _ path: String, body: [UInt8]) async throws -> Response {
        let runnerd = try await registry.runnerd(sessionId)
        metrics.proxied(toRunnerd: body.count)
        let upstream = try await runnerd.send(method, path, body: method == .GET && body.isEmpty ? nil : body)
        return relay(upstream)
    }

    /// runnerd's answer as it is.
    func relay(_ upstream: HTTPClientResponse) -> Response {
        var headers = HTTPFields()
        if let type = upstream.headers.first(name: "content-type") { headers[.contentType] = type }
        let length = upstream.headers.first(name: "content-length").flatMap(Int.init)
        let metrics = self.metrics
        let body = ResponseBody(contentLength: length) { writer in
            for try await chunk in upstream.body {
                metrics.proxied(toClient: chunk.readableBytes)
                try await writer.write(chunk)
            }
            try await writer.finish(nil)
        }
        return Response(status: HTTPResponse.Status(code: Int(upstream.status.code)), headers: headers, body: body)
    }

    /// runnerd's NDJSON exec stream as SSE, one message per event, each written (and so
    /// flushed) on its own. A non-200 answer (unknown exec, malformed request) is relayed.
    func eventStream(_ upstream: HTTPClientResponse, sessionId: String, logger: Logger) -> Response {
        guard upstream.status == .ok else { return relay(upstream) }
        let metrics = self.metrics
        let body = ResponseBody { writer in
            var framer = SSEFramer()
            var skipped = 0
            // One upstream chunk at a time: runnerd is read no faster than the client takes
            // the messages. On graceful shutdown the stream ends at its next chunk, or, when
            // idle, once the shutdown's grace is over and the task is cancelled; the client
            // resumes elsewhere with Last-Event-ID. (A per-chunk check: racing every chunk
            // against the shutdown signal would cost a task switch per chunk.)
            for try await chunk in upstream.body {
                if Task.isShuttingDownGracefully { break }
                for message in framer.append(chunk, skipped: &skipped) {
                    metrics.proxied(toClient: message.readableBytes)
                    try await writer.write(message)
                }
            }
            if skipped > 0 { logger.warning("runnerd sent lines that are not events", metadata: ["session": "\(sessionId)", "lines": "\(skipped)"]) }
            if framer.isMidLine && !Task.isShuttingDownGracefully { throw RunnerdClientError.truncatedStream }
            try await writer.finish(nil)
        }
        return Response(
            status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache", .xAccelBuffering: "no"], body: body)
    }
}

extension HTTPField.Name {
    /// Tells nginx-style proxies not to buffer the stream.
    static let xAccelBuffering = HTTPField.Name("X-Accel-Buffering")!
}
