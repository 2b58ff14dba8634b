import Foundation

/// A minimal HTTP/1.1 client over a bare loopback socket, for requests no client library will
/// send: any method, raw path bytes, bad UTF-8, odd headers. Reads one answer (content-length or
/// chunked body) and keeps the connection for the next request when the server does.
public final class WireHTTP {
    public struct Answer {
        public var status: Int
        public var headers: [(String, String)]
        public var body: [UInt8]
        /// The server closed the connection after (or instead of) this answer.
        public var closed: Bool

        public func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
    }

    public enum Failure: Error, CustomStringConvertible {
        /// The connection closed (or timed out) before a complete answer; `partial` is what came.
        case noAnswer(partial: [UInt8], timedOut: Bool)
        case malformed(String)

        public var description: String {
            switch self {
            case .noAnswer(let partial, let timedOut):
                "no complete answer (\(timedOut ? "timed out" : "connection closed")) after \(partial.count) bytes: \(String(decoding: partial.prefix(200), as: UTF8.self))"
            case .malformed(let what): "malformed answer: \(what)"
            }
        }
    }

    public let port: Int
    private var connection: RawConnection?
    private var buffer: [UInt8] = []
    private var start = 0
    /// How long one answer may take to arrive in full.
    public var timeout: TimeInterval

    public init(port: Int, timeout: TimeInterval = 30) {
        self.port = port
        self.timeout = timeout
    }

    /// Sends `request` (raw bytes: request line, headers, body) on the kept connection or a new
    /// one, and reads the answer. A stream that lasts until the client leaves (`/fs/watch`) is
    /// read up to its first chunk (`firstChunkOnly`), then the connection is dropped.
    public func exchange(_ request: [UInt8], firstChunkOnly: Bool = false) throws -> Answer {
        self.firstChunkOnly = firstChunkOnly
        // The answer to a HEAD has the headers of a GET's and no body.
        headRequest = request.starts(with: Array("HEAD ".utf8))
        let connection = try self.connection ?? RawConnection(port: port)
        if self.connection == nil {
            self.connection = connection
            buffer = []
            start = 0
        }
        connection.send(request)
        do {
            let answer = try readAnswer(connection)
            if answer.closed { hangUp() }
            return answer
        } catch {
            hangUp()
            throw error
        }
    }

    /// Builds a request from its parts; `Content-Length` is added for a body.
    public static func request(
        method: String, target: [UInt8], headers: [(String, [UInt8])], body: [UInt8]?
    ) -> [UInt8] {
        var bytes = Array(method.utf8) + [UInt8(ascii: " ")] + target + Array(" HTTP/1.1\r\nHost: 127.0.0.1\r\n".utf8)
        for (name, value) in headers { bytes += Array(name.utf8) + Array(": ".utf8) + value + Array("\r\n".utf8) }
        if let body { bytes += Array("Content-Length: \(body.count)\r\n".utf8) }
        bytes += Array("\r\n".utf8)
        if let body { bytes += body }
        return bytes
    }

    public func hangUp() {
        connection?.hangUp()
        connection = nil
        buffer = []
        start = 0
    }

    // MARK: Reading

    private var deadline = Date()
    private var firstChunkOnly = false
    private var headRequest = false

    private func readAnswer(_ connection: RawConnection) throws -> Answer {
        deadline = Date().addingTimeInterval(timeout)
        let headLines = try readHead(connection)
        guard let statusLine = headLines.first else { throw Failure.malformed("empty head") }
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw Failure.malformed("status line \(statusLine)")
        }
        var headers: [(String, String)] = []
        for line in headLines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { throw Failure.malformed("header \(line)") }
            headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        var answer = Answer(status: status, headers: headers, body: [], closed: false)
        if status == 101 {
            // Switched protocols: what follows is not HTTP.
            answer.closed = true
        } else if headRequest {
            // No body, whatever the headers say.
        } else if answer.header("transfer-encoding")?.lowercased() == "chunked" {
            answer.body = try readChunked(connection)
            if firstChunkOnly { answer.closed = true }
        } else if let length = answer.header("content-length").flatMap(Int.init) {
            answer.body = try readExactly(length, connection)
        } else if status >= 200 && status != 204 && status != 304 {
            // No framing: the body runs to the end of the connection.
            while try fill(connection) {}
            answer.body = Array(buffer[start...])
            start = buffer.count
            answer.closed = true
        }
        if answer.header("connection")?.lowercased() == "close" { answer.closed = true }
        return answer
    }

    /// Reads more bytes into the buffer; false at end of stream. Throws at the deadline.
    private func fill(_ connection: RawConnection) throws -> Bool {
        while true {
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { throw Failure.noAnswer(partial: Array(buffer[start...]), timedOut: true) }
            switch connection.readAvailable(timeout: min(remaining, 0.5)) {
            case .bytes(let bytes):
                if start > 1 << 20 {
                    buffer.removeFirst(start)
                    start = 0
                }
                buffer += bytes
                return true
            case .endOfStream:
                return false
            case .nothingYet:
                continue
            }
        }
    }

    private func readHead(_ connection: RawConnection) throws -> [String] {
        while true {
            if let end = find([13, 10, 13, 10]) {
                let head = String(decoding: buffer[start..<end], as: UTF8.self)
                start = end + 4
                return head.components(separatedBy: "\r\n")
            }
            guard try fill(connection) else { throw Failure.noAnswer(partial: Array(buffer[start...]), timedOut: false) }
        }
    }

    private func readLine(_ connection: RawConnection) throws -> String {
        while true {
            if let end = find([13, 10]) {
                let line = String(decoding: buffer[start..<end], as: UTF8.self)
                start = end + 2
                return line
            }
            guard try fill(connection) else { throw Failure.noAnswer(partial: Array(buffer[start...]), timedOut: false) }
        }
    }

    private func readExactly(_ count: Int, _ connection: RawConnection) throws -> [UInt8] {
        while buffer.count - start < count {
            guard try fill(connection) else { throw Failure.noAnswer(partial: Array(buffer[start...]), timedOut: false) }
        }
        let bytes = Array(buffer[start..<(start + count)])
        start += count
        return bytes
    }

    private func readChunked(_ connection: RawConnection) throws -> [UInt8] {
        var body: [UInt8] = []
        while true {
            let sizeLine = try readLine(connection)
            guard let size = Int(sizeLine.split(separator: ";").first ?? "", radix: 16) else {
                throw Failure.malformed("chunk size \(sizeLine)")
            }
            if size == 0 {
                // Trailers, then the empty line.
                while try !readLine(connection).isEmpty {}
                return body
            }
            body += try readExactly(size, connection)
            guard try readLine(connection).isEmpty else { throw Failure.malformed("chunk not followed by CRLF") }
            if firstChunkOnly { return body }
        }
    }

    private func find(_ pattern: [UInt8]) -> Int? {
        guard buffer.count - start >= pattern.count else { return nil }
        var index = start
        outer: while index + pattern.count <= buffer.count {
            for offset in 0..<pattern.count where buffer[index + offset] != pattern[offset] {
                index += 1
                continue outer
            }
            return index
        }
        return nil
    }
}

extension RawConnection {
    public enum Read {
        case bytes([UInt8])
        case endOfStream
        case nothingYet
    }

    /// One read of what is available within `timeout`.
    public func readAvailable(timeout: TimeInterval) -> Read {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, Int32(max(1, timeout * 1000))) > 0 else { return .nothingYet }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count <= 0 { return .endOfStream }
        return .bytes(Array(chunk[0..<count]))
    }
}
