import NIOCore
import NIOHTTP1
import RunnerProtocol

/// One HTTP/1.1 connection: checks each request's head (route, token, declared size) before
/// any of its body is read, assembles the body (capped at 4 MiB → 413), hands the request to
/// the router and writes plain or streamed answers, keeping the connection alive between them.
///
/// A request without a valid token is answered `401` from its head alone and the connection
/// closes: an unauthenticated client never gets runnerd to buffer a body. The connection
/// registers with `ConnectionLimiter`, which closes it once it sits idle too long.
final class RunnerdHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        case idle
        case receiving(HTTPRequest, RunnerdRoute)
        /// The request was refused from its head or for its size; the answer was sent and the
        /// connection closes.
        case rejected
        /// Waiting for an asynchronous answer or a streamed response to end.
        case answering(keepAlive: Bool)
        case streaming(HTTPEventStream, keepAlive: Bool)
    }

    private let router: RunnerdRouter
    private let authenticator: Authenticator
    private let metrics: RunnerdMetrics
    private let connections: ConnectionLimiter?
    private let maxBodyBytes: Int
    private var state = State.idle
    private var context: ChannelHandlerContext?
    /// The route being answered and when its request began, for the metrics.
    var routeLabel = "unparsed"
    private var requestStart = NIODeadline.now()
    /// When bytes last arrived or an answer last ended (`ConnectionLimiter`'s idle sweep).
    private(set) var lastActivity = NIODeadline.now()

    init(
        router: RunnerdRouter, authenticator: Authenticator, metrics: RunnerdMetrics, connections: ConnectionLimiter? = nil,
        maxBodyBytes: Int = Limits.maxRequestBodyBytes
    ) {
        self.router = router
        self.authenticator = authenticator
        self.metrics = metrics
        self.connections = connections
        self.maxBodyBytes = maxBodyBytes
    }

    private func recordRequest(_ status: HTTPResponseStatus) {
        metrics.request(route: routeLabel, status: Int(status.code), durationNanoseconds: (NIODeadline.now() - requestStart).nanoseconds)
        routeLabel = "unparsed"
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    /// Answering or streaming: the connection is in use however long nothing arrives on it.
    var isBusy: Bool {
        switch state {
        case .answering, .streaming: true
        case .idle, .receiving, .rejected: false
        }
    }

    /// Closes the connection (idle too long, or evicted to make room for a new one).
    func close() {
        context?.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch (unwrapInboundIn(data), state) {
        case (.head(let head), .idle):
            requestStart = .now()
            let request = HTTPRequest(head: head)
            let route = request.route
            routeLabel = route.label
            if route.needsAuth && !authenticator.admits(head.headers) {
                // Refused on the head: the body (whatever its size) is never read.
                respond(RunnerdError.unauthorized, close: true)
                state = .rejected
                return
            }
            if let length = head.headers.first(name: "content-length").flatMap(Int.init), length > maxBodyBytes {
                rejectTooLarge()
                return
            }
            state = .receiving(request, route)
        case (.body(var chunk), .receiving(var request, let route)):
            guard request.body.readableBytes + chunk.readableBytes <= maxBodyBytes else {
                rejectTooLarge()
                return
            }
            state = .idle  // drop the reference so the body stays uniquely owned
            request.body.writeBuffer(&chunk)
            state = .receiving(request, route)
        case (.end, .receiving(let request, let route)):
            state = .answering(keepAlive: request.head.isKeepAlive)
            router.handle(request, route: route, responder: self)
        case (_, .rejected):
            break
        default:
            // A request part out of order (the pipeline handler prevents this for well-formed
            // clients): refuse and close.
            respond(RunnerdError.badRequest("unexpected request part"), close: true)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        lastActivity = .now()
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if case .streaming(let stream, _) = state { stream.detach() }
        state = .idle
        self.context = nil
        connections?.closed(self)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, case .streaming(let stream, _) = state { stream.writable() }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func rejectTooLarge() {
        respond(RunnerdError.payloadTooLarge, close: true)
        state = .rejected
    }

    private var keepAlive: Bool {
        switch state {
        case .answering(let keepAlive), .streaming(_, let keepAlive): keepAlive
        default: false
        }
    }

    // MARK: Responder

    /// Answers with an error: its status and `{"error", "message"}` body (`RunnerdError`'s table).
    func respond(_ error: RunnerdError, close: Bool = false) {
        respond(error.status, json: error.body, close: close)
    }

    /// Writes a complete JSON answer.
    func respond(_ status: HTTPResponseStatus, json: some Encodable, close: Bool = false) {
        let bytes = (try? WireJSON.encode(json)) ?? Array(#"{"error":"internal"}"#.utf8)
        respond(status, body: ByteBuffer(bytes: bytes), contentType: "application/json", close: close)
    }

    /// Writes a complete answer with `body`.
    func respond(_ status: HTTPResponseStatus, body: ByteBuffer, contentType: String, close: Bool = false) {
        guard let context else { return }
        recordRequest(status)
        let keepAlive = !close && keepAlive
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: contentType)
        headers.add(name: "content-length", value: String(body.readableBytes))
        if !keepAlive { headers.add(name: "connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        end(context, keepAlive: keepAlive)
    }

    /// Answers with JSON when `future` completes.
    func respondLater(_ future: EventLoopFuture<(HTTPResponseStatus, [UInt8])>) {
        respondLater(future.map { status, bytes in (status, ByteBuffer(bytes: bytes), "application/json") })
    }

    /// Answers when `future` completes.
    func respondLater(_ future: EventLoopFuture<(HTTPResponseStatus, ByteBuffer, String)>) {
        future.assumeIsolated().whenComplete { [self] result in
            switch result {
            case .success(let (status, body, contentType)):
                respond(status, body: body, contentType: contentType)
            case .failure(let error):
                respond(RunnerdError(.internalError, "\(error)"))
            }
        }
    }

    /// Starts a chunked NDJSON answer; events follow through the returned consumer.
    func beginEventStream() -> HTTPEventStream? {
        guard let context else { return nil }
        // A stream's latency is its time to the response head; the stream itself lasts as
        // long as the exec.
        recordRequest(.ok)
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/x-ndjson")
        headers.add(name: "transfer-encoding", value: "chunked")
        headers.add(name: "cache-control", value: "no-store")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
        let keepAlive = self.keepAlive
        let stream = HTTPEventStream(context: context) { [unowned self] stream, dropped in
            self.streamEnded(stream, dropped: dropped)
        }
        state = .streaming(stream, keepAlive: keepAlive)
        return stream
    }

    private func streamEnded(_ stream: HTTPEventStream, dropped: Bool) {
        guard let context, case .streaming(let current, let keepAlive) = state, current === stream else { return }
        if dropped {
            // Fell too far behind: cut the connection without the terminating chunk, so the
            // client sees an incomplete stream and re-attaches.
            state = .rejected
            context.close(promise: nil)
            return
        }
        end(context, keepAlive: keepAlive)
    }

    private func end(_ context: ChannelHandlerContext, keepAlive: Bool) {
        state = .idle
        lastActivity = .now()
        if keepAlive {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        }
    }
}
