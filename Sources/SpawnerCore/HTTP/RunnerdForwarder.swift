import AsyncHTTPClient
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import RunnerProtocol
import RunnerdClient

/// Sends a request to a session's runnerd and relays the answer.
///
/// Calls (`forward`): status, content type and body, streamed with the body's backpressure,
/// within the route's `ProxyTimeout` (else `504`). Event streams (`eventStream`: exec, attach,
/// file watch): runnerd's NDJSON as Server-Sent Events, bridged channel to channel on the
/// client connection's event loop (`EventStreamUpstream`, `EventRelayHandler`).
struct RunnerdForwarder: Sendable {
    let registry: SessionRegistry
    let metrics: SpawnerMetrics

    /// `method path` to the session's runnerd with `body` as received; runnerd's answer.
    func forward(_ sessionId: String, _ method: HTTPMethod, _ path: String, body: [UInt8], timeout: ProxyTimeout) async throws -> Response {
        let runnerd = try await registry.runnerd(sessionId)
        metrics.proxied(toRunnerd: body.count)
        let upstream = try await UpstreamFailure.during {
            try await runnerd.send(method, path, body: method == .GET && body.isEmpty ? nil : body, timeout: timeout.amount)
        }
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

    /// runnerd's NDJSON event stream for `method path` as SSE, one message per event (`event:`
    /// its `t`, or `eventName`; `id:` its seq; `data:` the line as runnerd wrote it). A non-200
    /// answer (unknown exec, malformed request) is relayed as it is.
    func eventStream(
        _ sessionId: String, _ method: HTTPMethod, _ path: String, body: ByteBuffer?, context: SpawnerRequestContext,
        eventName: String? = nil
    ) async throws -> Response {
        let target = try await registry.target(sessionId)
        metrics.proxied(toRunnerd: body?.readableBytes ?? 0)
        let downstream = context.channel
        let (upstream, head) = try await UpstreamFailure.during {
            try await EventStreamUpstream.open(
                target, method: method, path: path, body: body, on: downstream.eventLoop, headTimeout: ProxyTimeout.streamHead.amount,
                eventName: eventName)
        }
        switch head {
        case .answer(let status, let contentType, let answer):
            var headers = HTTPFields()
            if let contentType { headers[.contentType] = contentType }
            metrics.proxied(toClient: answer.readableBytes)
            return Response(status: HTTPResponse.Status(code: status), headers: headers, body: ResponseBody(byteBuffer: answer))
        case .events:
            let metrics = self.metrics
            let logger = context.logger
            let body = ResponseBody { writer in
                let summary = try await upstream.relay(to: downstream) { metrics.proxied(toClient: $0) }
                if summary.skippedLines > 0 {
                    logger.warning("runnerd sent lines that are not events", metadata: ["session": "\(sessionId)", "lines": "\(summary.skippedLines)"])
                }
                try await writer.finish(nil)
            }
            return Response(
                status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache", .xAccelBuffering: "no"], body: body)
        }
    }
}

extension HTTPField.Name {
    /// Tells nginx-style proxies not to buffer the stream.
    static let xAccelBuffering = HTTPField.Name("X-Accel-Buffering")!
}
