import AsyncHTTPClient
import Hummingbird
import Logging
import NIOCore
import RunnerProtocol
import RunnerdClient
import ServiceLifecycle

extension RunnerdForwarder {
    /// runnerd's NDJSON watch stream as SSE: every line one message, `event: fs`, `id:` its
    /// seq, `data:` the line. A non-200 answer (unknown path, escape) is relayed as it is.
    func watchStream(_ upstream: HTTPClientResponse, sessionId: String, logger: Logger) -> Response {
        guard upstream.status == .ok else { return relay(upstream) }
        let metrics = self.metrics
        let body = ResponseBody { writer in
            var splitter = NDJSONLineSplitter()
            var skipped = 0
            for try await chunk in upstream.body {
                if Task.isShuttingDownGracefully { break }
                for line in splitter.append(chunk) {
                    guard let message = WatchSSE.message(line: line) else {
                        skipped += 1
                        continue
                    }
                    metrics.proxied(toClient: message.readableBytes)
                    try await writer.write(message)
                }
            }
            if skipped > 0 { logger.warning("runnerd sent lines that are not watch events", metadata: ["session": "\(sessionId)", "lines": "\(skipped)"]) }
            try await writer.finish(nil)
        }
        return Response(
            status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache", .xAccelBuffering: "no"], body: body)
    }
}

/// One watch event as an SSE message.
enum WatchSSE {
    static func message(line: ByteBuffer) -> ByteBuffer? {
        guard let event = try? WireJSON.decode(FsWatchEvent.self, from: line.readableBytesView) else { return nil }
        var message = ByteBuffer()
        message.reserveCapacity(line.readableBytes + 40)
        message.writeString("event: fs\nid: \(event.seq)\ndata: ")
        message.writeImmutableBuffer(line)
        message.writeString("\n\n")
        return message
    }
}
