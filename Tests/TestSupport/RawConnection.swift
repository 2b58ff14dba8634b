import Foundation

/// A bare TCP connection to loopback, for what an HTTP client library will not do on purpose:
/// send a request and then never read, send garbage, or hang up mid-stream.
/// Used by one task at a time (handed to a blocking thread and back: `blocking`).
public final class RawConnection: @unchecked Sendable {
    public private(set) var fd: Int32

    public init(port: Int, receiveBuffer: Int32? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno)!) }
        if var size = receiveBuffer {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            close(fd)
            throw POSIXError(.init(rawValue: errno)!)
        }
    }

    deinit { hangUp() }

    /// Closes the connection (once: a second close could hit a descriptor reused by someone else).
    public func hangUp() {
        guard fd >= 0 else { return }
        close(fd)
        fd = -1
    }

    /// Writes all of `text`; false when the peer closed or reset the connection first.
    @discardableResult
    public func send(_ text: String) -> Bool {
        send(Array(text.utf8))
    }

    /// Writes all of `bytes`; false when the peer closed or reset the connection first.
    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if written < 0 && errno == EINTR { continue }
            if written <= 0 { return false }
            offset += written
        }
        return true
    }

    /// The status line and headers of an answer (names lowercased).
    public struct Head: Sendable {
        public var status: Int
        public var headers: [String: String]
    }

    /// Reads an answer's head and nothing of its body, within `timeout`; nil when the
    /// connection closed first (or the time passed).
    public func readHead(timeout: TimeInterval = 30) -> Head? {
        let deadline = Date().addingTimeInterval(timeout)
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while !bytes.suffix(4).elementsEqual([13, 10, 13, 10]) {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard Date() < deadline else { return nil }
            guard poll(&poller, 1, 100) > 0 else { continue }
            guard read(fd, &byte, 1) == 1 else { return nil }
            bytes.append(byte)
        }
        var lines = String(decoding: bytes, as: UTF8.self).components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { return nil }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return Head(status: status, headers: headers)
    }

    /// A POST with a JSON body.
    public func post(_ path: String, token: String?, json: String) {
        var request = "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        if let token { request += "Authorization: Bearer \(token)\r\n" }
        request += "Content-Length: \(json.utf8.count)\r\n\r\n\(json)"
        send(request)
    }

    /// Reads until EOF (or `limit` bytes / `timeout`); returns what came and whether EOF was seen.
    public func readToEnd(limit: Int = 1 << 30, timeout: TimeInterval = 30) -> (bytes: [UInt8], eof: Bool) {
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        let deadline = Date().addingTimeInterval(timeout)
        while result.count < limit && Date() < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 100) > 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count <= 0 { return (result, true) }
            result.append(contentsOf: buffer[0..<count])
        }
        return (result, false)
    }

    /// Reads whatever arrives within `timeout`.
    public func readSome(timeout: TimeInterval = 2) -> [UInt8] {
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 50) > 0 else {
                if !result.isEmpty { return result }
                continue
            }
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count <= 0 { return result }
            result.append(contentsOf: buffer[0..<count])
        }
        return result
    }
}
