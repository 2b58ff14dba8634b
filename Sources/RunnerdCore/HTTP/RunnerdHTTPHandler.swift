import NIOCore
import NIOHTTP1
import RunnerProtocol

/// One HTTP/1.1 connection: assembles requests (body capped at 4 MiB → 413), hands them to the
/// router and writes plain or streamed answers, keeping the connection alive between them.
final class RunnerdHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        case idle
        case receiving(HTTPRequestHead, ByteBuffer)
        /// The body was too large; the 413 was sent and the connection closes.
        case rejected
        /// Waiting for an asynchronous answer or a streamed response to end.
        case answering(keepAlive: Bool)
        case streaming(HTTPEventStream, keepAlive: Bool)
    }

    private let router: RunnerdRouter
    private let metrics: RunnerdMetrics
    private let maxBodyBytes: Int
    private var state = State.idle
    private var context: ChannelHandlerContext?
    /// The route being answered and when its request began, for the metrics.
    var routeLabel = "unparsed"
    private var requestStart = NIODeadline.now()

    init(router: RunnerdRouter, metrics: RunnerdMetrics, maxBodyBytes: Int = Limits.maxRequestBodyBytes) {
        self.router = router
        self.metrics = metrics
        self.maxBodyBytes = maxBodyBytes
    }

    private func recordRequest(_ status: HTTPResponseStatus) {
        metrics.request(route: routeLabel, status: Int(status.code), durationNanoseconds: (NIODeadline.now() - requestStart).nanoseconds)
        routeLabel = "unparsed"
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch (unwrapInboundIn(data), state) {
        case (.head(let head), .idle):
            requestStart = .now()
            if let length = head.headers.first(name: "content-length").flatMap(Int.init), length > maxBodyBytes {
                rejectTooLarge()
                return
            }
            state = .receiving(head, context.channel.allocator.buffer(capacity: 0))
        case (.body(var chunk), .receiving(let head, var body)):
            guard body.readableBytes + chunk.readableBytes <= maxBodyBytes else {
                rejectTooLarge()
                return
            }
            state = .idle  // drop the reference so `body` stays uniquely owned
            body.writeBuffer(&chunk)
            state = .receiving(head, body)
        case (.end, .receiving(let head, let body)):
            state = .answering(keepAlive: head.isKeepAlive)
            router.handle(HTTPRequest(head: head, body: body), responder: self)
        case (_, .rejected):
            break
        default:
            // A request part out of order (the pipeline handler prevents this for well-formed
            // clients): refuse and close.
            respond(.badRequest, json: ErrorBody.badRequest("unexpected request part"), close: true)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if case .streaming(let stream, _) = state { stream.detach() }
        state = .idle
        self.context = nil
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, case .streaming(let stream, _) = state { stream.writable() }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func rejectTooLarge() {
        respond(.payloadTooLarge, json: ErrorBody.payloadTooLarge, close: true)
        state = .rejected
    }

    private var keepAlive: Bool {
        switch state {
        case .answering(let keepAlive), .streaming(_, let keepAlive): keepAlive
        default: false
        }
    }

    // MARK: Responder

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
                respond(.internalServerError, json: ErrorBody(error: "internal", message: "\(error)"))
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
            state = .idle
            context.close(promise: nil)
            return
        }
        end(context, keepAlive: keepAlive)
    }

    private func end(_ context: ChannelHandlerContext, keepAlive: Bool) {
        state = .idle
        if keepAlive {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        }
    }
}
