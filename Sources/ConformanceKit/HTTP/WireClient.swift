import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// An HTTP answer read to its end.
public struct WireResponse: Sendable {
    public let status: Int
    public let headers: [(String, String)]
    public let body: [UInt8]

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    public var text: String { String(decoding: body, as: UTF8.self) }

    /// The body as JSON, or a check failure naming the request.
    public func json(_ what: String) throws -> JSON {
        do {
            return try JSONParser.parse(body)
        } catch {
            throw CheckFailure("\(what): answer \(status) is not JSON (\(error)): \(text.prefix(120))")
        }
    }
}

/// The kit's HTTP client: AsyncHTTPClient with no redirects and no decompression, so that
/// what the target answers is what the checks see.
public final class WireClient: Sendable {
    let http: HTTPClient

    public init() {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.decompression = .disabled
        configuration.timeout = .init(connect: .seconds(10))
        // Exec streams hold a connection each: the live-exec limit check alone holds 16 (and
        // more when a target's limit is higher). The default of 8 would queue the rest.
        configuration.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 1024)
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    public func shutdown() async {
        try? await http.shutdown()
    }

    func request(_ method: String, _ url: String, headers: [(String, String)], body: [UInt8]?) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.body = .bytes(ByteBuffer(bytes: body))
            if request.headers["content-type"].isEmpty { request.headers.add(name: "content-type", value: "application/json") }
        }
        return request
    }

    /// Sends a request and reads the whole answer (at most `limit` bytes of body).
    public func send(
        _ method: String, _ url: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
        timeout: Duration = .seconds(60), limit: Int = 64 << 20
    ) async throws -> WireResponse {
        let response = try await http.execute(request(method, url, headers: headers, body: body), timeout: .seconds(Int64(timeout.components.seconds)))
        var collected: [UInt8] = []
        for try await chunk in response.body {
            collected.append(contentsOf: chunk.readableBytesView)
            if collected.count > limit { throw CheckFailure("\(method) \(url): answer body larger than \(limit) bytes") }
        }
        return WireResponse(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: collected)
    }

    /// Sends a request and returns its head and a reader of its body's lines, while the body
    /// still arrives (NDJSON and SSE streams).
    public func open(
        _ method: String, _ url: String, headers: [(String, String)] = [], body: [UInt8]? = nil
    ) async throws -> LineStream {
        let response = try await http.execute(request(method, url, headers: headers, body: body), timeout: .seconds(60))
        return LineStream(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: response.body)
    }
}

/// A response body read line by line (`\n`-terminated; the line's bytes without it). A
/// reader task owns the connection; `close()` (or deinit) cancels it, which closes the
/// connection — what "the client went away" means for a stream.
public final class LineStream: @unchecked Sendable {
    public let status: Int
    public let headers: [(String, String)]
    private let lines: AsyncThrowingStream<[UInt8], any Error>
    private var iterator: AsyncThrowingStream<[UInt8], any Error>.Iterator
    private let reader: Task<Void, Never>
    /// Bytes of an unterminated last line, if the stream ended in the middle of one.
    public private(set) var ended = false

    init(status: Int, headers: [(String, String)], body: HTTPClientResponse.Body) {
        self.status = status
        self.headers = headers
        let (stream, continuation) = AsyncThrowingStream<[UInt8], any Error>.makeStream()
        lines = stream
        iterator = stream.makeAsyncIterator()
        reader = Task {
            var pending: [UInt8] = []
            do {
                for try await chunk in body {
                    for byte in chunk.readableBytesView {
                        if byte == 0x0A {
                            continuation.yield(pending)
                            pending.removeAll(keepingCapacity: true)
                        } else {
                            pending.append(byte)
                        }
                    }
                }
                if !pending.isEmpty { continuation.finish(throwing: CheckFailure("the stream ended inside a line (no final newline)")) }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    /// The next line, or nil at the end of the stream.
    public func nextLine() async throws -> [UInt8]? {
        let line = try await iterator.next()
        if line == nil { ended = true }
        return line
    }

    /// Reads the body to its end (every remaining line).
    public func readAll(limit: Int = 64 << 20) async throws -> [[UInt8]] {
        var all: [[UInt8]] = []
        var total = 0
        while let line = try await nextLine() {
            total += line.count + 1
            if total > limit { throw CheckFailure("stream longer than \(limit) bytes") }
            all.append(line)
        }
        return all
    }

    public func close() { reader.cancel() }

    deinit { reader.cancel() }
}
