import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOPosix
import RunnerProtocol
import ServiceLifecycle

/// Where a session's runnerd answers, with the session's token.
struct RunnerdTarget: Sendable {
    var endpoint: RunnerdEndpoint
    var token: String
}

/// One streamed request to a session's runnerd (an exec, an attach, a file watch), on the
/// event loop of the client's connection, so that `relay(to:)` can bridge the two channels
/// on that one loop (`EventRelayHandler`).
///
/// The upstream connection closes when the relay ends, and at the latest when this object
/// goes (a response that was never written, a handler that threw).
final class EventStreamUpstream: Sendable {
    let channel: any Channel
    private let handler: NIOLoopBound<EventRelayHandler>
    private let finished: EventLoopFuture<RelaySummary>

    private init(channel: any Channel, handler: NIOLoopBound<EventRelayHandler>, finished: EventLoopFuture<RelaySummary>) {
        self.channel = channel
        self.handler = handler
        self.finished = finished
    }

    deinit {
        channel.close(promise: nil)
    }

    /// Connects to runnerd on `eventLoop`, sends the request and waits for the answer's head
    /// (at most `headTimeout`). `eventName` replaces every message's `event:` (watch streams).
    static func open(
        _ target: RunnerdTarget, method: HTTPMethod, path: String, body: ByteBuffer?, on eventLoop: any EventLoop,
        headTimeout: TimeAmount, eventName: String? = nil
    ) async throws -> (EventStreamUpstream, UpstreamHead) {
        guard let bootstrap = ClientBootstrap(validatingGroup: eventLoop) else {
            throw RelayError.truncated
        }
        let headPromise = eventLoop.makePromise(of: UpstreamHead.self)
        let finishedPromise = eventLoop.makePromise(of: RelaySummary.self)
        let connected = try await bootstrap
            .connectTimeout(.seconds(5))
            .channelOption(.autoRead, value: false)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            // Up to 1 MiB per read when runnerd writes that fast: fewer, larger reads and writes.
            .channelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 1024, initial: 64 << 10, maximum: 1 << 20))
            .connect(host: target.endpoint.host, port: target.endpoint.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    let handler = EventRelayHandler(
                        headPromise: headPromise, finishedPromise: finishedPromise, lineCap: Limits.eventLineCapBytes, eventName: eventName)
                    try channel.pipeline.syncOperations.addHandler(handler)
                    return Connected(channel: channel, handler: NIOLoopBound(handler, eventLoop: channel.eventLoop))
                }
            }
        let upstream = EventStreamUpstream(channel: connected.channel, handler: connected.handler, finished: finishedPromise.futureResult)

        var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
        head.headers.add(name: "Host", value: target.endpoint.hostHeader)
        head.headers.add(name: "Authorization", value: "Bearer \(target.token)")
        head.headers.add(name: "Connection", value: "close")
        if let body {
            head.headers.add(name: "Content-Type", value: "application/json")
            head.headers.add(name: "Content-Length", value: String(body.readableBytes))
        }
        let channel = connected.channel
        let handler = connected.handler
        let requestHead = head
        channel.eventLoop.execute {
            let timeout = channel.eventLoop.scheduleTask(in: headTimeout) { handler.value.fail(RelayError.headTimeout) }
            headPromise.futureResult.whenComplete { _ in timeout.cancel() }
            channel.write(HTTPClientRequestPart.head(requestHead), promise: nil)
            if let body { channel.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil) }
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
            channel.read()
        }
        return (upstream, try await headPromise.futureResult.get())
    }

    private struct Connected: Sendable {
        let channel: any Channel
        let handler: NIOLoopBound<EventRelayHandler>
    }

    /// Relays the events to `downstream` — the client's connection, on this upstream's event
    /// loop — until runnerd's stream ends. A graceful shutdown ends it at the next line
    /// boundary; cancelling the task ends it at once.
    func relay(to downstream: any Channel, onBytes: @escaping @Sendable (Int) -> Void) async throws -> RelaySummary {
        precondition(downstream.eventLoop === channel.eventLoop, "a relay runs on one event loop")
        let handler = self.handler
        let loop = channel.eventLoop
        loop.execute { handler.value.startRelay(to: downstream, onBytes: onBytes) }
        return try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await finished.get()
            } onGracefulShutdown: {
                loop.execute { handler.value.stopAtBoundary() }
            }
        } onCancel: {
            loop.execute { handler.value.fail(RelayError.cancelled) }
        }
    }
}

extension RunnerdEndpoint {
    /// The `Host` header for this endpoint.
    var hostHeader: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
