import NIOCore
import RunnerProtocol

/// One Server-Sent Events message.
public struct SSEMessage: Equatable, Sendable {
    public var event: String?
    public var id: String?
    /// The `data:` lines joined with `\n`.
    public var data: [UInt8]

    public init(event: String? = nil, id: String? = nil, data: [UInt8]) {
        self.event = event
        self.id = id
        self.data = data
    }
}

/// Parses an `text/event-stream` body incrementally (the WHATWG rules the spawner needs:
/// `event`, `id`, `data` fields, comments, LF or CRLF line ends, a blank line dispatches).
///
/// A line, and a message's data, hold at most `lineCap` bytes: past it the stream ends
/// (`SpawnerClientError.lineTooLong`) instead of growing a buffer for as long as the server
/// keeps sending.
public struct SSEParser: Sendable {
    private var line: [UInt8] = []
    private var lastWasCR = false
    private var event: String?
    private var id: String?
    private var data: [UInt8] = []
    private var hasData = false
    public let lineCap: Int

    /// The default cap: an event line (`Limits.eventLineCapBytes`) and its field name.
    public init(lineCap: Int = Limits.eventLineCapBytes + 64) {
        self.lineCap = lineCap
    }

    /// Feeds bytes; returns the messages they complete.
    public mutating func append(_ chunk: ByteBuffer) throws(SpawnerClientError) -> [SSEMessage] {
        try chunk.withUnsafeReadableBytes { bytes throws(SpawnerClientError) in try append(bytes) }
    }

    /// Feeds bytes; returns the messages they complete. Lines are cut with a bulk scan for
    /// the line ends, not byte by byte: an exec's output passes through here.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) throws(SpawnerClientError) -> [SSEMessage] {
        var messages: [SSEMessage] = []
        var start = 0
        var index = 0
        if lastWasCR, bytes.first == UInt8(ascii: "\n") {
            start = 1
            index = 1
        }
        lastWasCR = false
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") {
                guard line.count + (index - start) <= lineCap else { throw .lineTooLong(lineCap) }
                line.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
                if let message = try endLine() { messages.append(message) }
                if byte == UInt8(ascii: "\r") {
                    if index + 1 < bytes.count {
                        if bytes[index + 1] == UInt8(ascii: "\n") { index += 1 }
                    } else {
                        lastWasCR = true
                    }
                }
                start = index + 1
            }
            index += 1
        }
        if start < bytes.count {
            guard line.count + (bytes.count - start) <= lineCap else { throw .lineTooLong(lineCap) }
            line.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start..<bytes.count]))
        }
        return messages
    }

    /// Feeds bytes; returns the messages they complete.
    public mutating func append(_ bytes: [UInt8]) throws(SpawnerClientError) -> [SSEMessage] {
        try append(ByteBuffer(bytes: bytes))
    }

    /// Bytes of a message that has not been dispatched (non-zero at the end of a stream means it was cut).
    public var hasPartialMessage: Bool { !line.isEmpty || hasData || event != nil }

    private mutating func endLine() throws(SpawnerClientError) -> SSEMessage? {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            defer {
                event = nil
                data.removeAll()
                hasData = false
            }
            guard hasData else { return nil }
            return SSEMessage(event: event, id: id, data: data)
        }
        if line.first == UInt8(ascii: ":") { return nil }
        let colon = line.firstIndex(of: UInt8(ascii: ":")) ?? line.endIndex
        let name = String(decoding: line[..<colon], as: UTF8.self)
        var valueStart = colon < line.endIndex ? colon + 1 : colon
        if valueStart < line.endIndex, line[valueStart] == UInt8(ascii: " ") { valueStart += 1 }
        let value = line[valueStart...]
        switch name {
        case "event": event = String(decoding: value, as: UTF8.self)
        case "id": id = String(decoding: value, as: UTF8.self)
        case "data":
            guard data.count + value.count + 1 <= lineCap else { throw .lineTooLong(lineCap) }
            if hasData { data.append(UInt8(ascii: "\n")) }
            data.append(contentsOf: value)
            hasData = true
        default: break
        }
        return nil
    }
}

extension SSEParser: StreamFramer {
    public var hasPartialFrame: Bool { hasPartialMessage }
    public static var truncated: any Error { SpawnerClientError.truncatedStream }
}

/// The SSE messages of an HTTP body, pulled with the body's backpressure.
public typealias SSEMessageSequence<Base: AsyncSequence & Sendable> = FramedSequence<Base, SSEParser> where Base.Element == ByteBuffer

extension FramedSequence where Framer == SSEParser {
    public init(_ base: Base) {
        self.init(base: base, framer: SSEParser())
    }
}
