import NIOCore
import NIOHTTP1
import NIOPosix
import RunnerProtocol

/// Sequential exec round trips driven from the client's event loop itself: each response's end
/// sends the next request, so the figure is runnerd's latency plus one loopback hop, not the
/// thread hops of an async client (`RunnerdClient`, measured separately).
///
/// HTTP is NIOHTTP1's client codec; every body is split into NDJSON lines and each line decoded
/// with `EventReader`, so a round trip ends when its `exit` event has been read.
final class RoundTripDriver: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let count: Int
    private let warmUp: Int
    private let token: String
    private let command: [String]
    private let prefix: String
    private let done: EventLoopPromise<Sample>
    private var index = 0
    private var startedAt = NIODeadline.now()
    private var body = ByteBuffer()
    private var sample = Sample()
    private var finished = false

    init(count: Int, warmUp: Int, token: String, command: [String], prefix: String, done: EventLoopPromise<Sample>) {
        self.count = count
        self.warmUp = warmUp
        self.token = token
        self.command = command
        self.prefix = prefix
        self.done = done
    }

    /// Connects to runnerd on 127.0.0.1:`port` and runs `count` round trips after `warmUp`.
    static func measure(
        group: any EventLoopGroup, port: Int, token: String, command: [String], prefix: String, count: Int, warmUp: Int = 20
    ) async throws -> Sample {
        let loop = group.next()
        let done = loop.makePromise(of: Sample.self)
        let channel = try await HTTPClientChannel.connect(on: loop, port: port) {
            RoundTripDriver(count: count, warmUp: warmUp, token: token, command: command, prefix: prefix, done: done)
        }
        defer { channel.close(promise: nil) }
        return try await done.futureResult.get()
    }

    private func complete(_ result: Result<Sample, any Error>) {
        guard !finished else { return }
        finished = true
        done.completeWith(result)
    }

    func channelActive(context: ChannelHandlerContext) {
        send(context: context)
    }

    private func send(context: ChannelHandlerContext) {
        let request = ExecRequest(execId: "\(prefix)-\(index)", command: command, timeoutMs: 0)
        let payload: ByteBuffer
        do {
            payload = ByteBuffer(bytes: try WireJSON.encode(request))
        } catch {
            return complete(.failure(error))
        }
        var headers = HTTPHeaders()
        headers.add(name: "host", value: "127.0.0.1")
        headers.add(name: "authorization", value: "Bearer \(token)")
        headers.add(name: "content-type", value: "application/json")
        headers.add(name: "content-length", value: "\(payload.readableBytes)")
        body.clear()
        startedAt = .now()
        context.write(wrapOutboundOut(.head(HTTPRequestHead(version: .http1_1, method: .POST, uri: "/execs", headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(payload))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            if head.status != .ok { complete(.failure(BenchError("POST /execs answered \(head.status)"))) }
        case .body(var chunk):
            body.writeBuffer(&chunk)
        case .end:
            let elapsed = NIODeadline.now() - startedAt
            do {
                guard try endsWithExit(body) else { throw BenchError("exec \(prefix)-\(index) ended without exit") }
            } catch {
                return complete(.failure(error))
            }
            if index >= warmUp { sample.add(Double(elapsed.nanoseconds) / 1e6) }
            index += 1
            if index < warmUp + count {
                send(context: context)
            } else {
                complete(.success(sample))
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        complete(.failure(error))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        complete(.failure(BenchError("runnerd closed the connection")))
    }

    /// Decodes every line; true when the last event is `exit`.
    private func endsWithExit(_ body: ByteBuffer) throws -> Bool {
        var body = body
        var last: ExecEvent?
        while let newline = body.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
            let line = body.readSlice(length: newline - body.readerIndex)!
            body.moveReaderIndex(forwardBy: 1)
            last = try EventReader.decode(line)
        }
        if case .exit = last?.body { return true }
        return false
    }
}
