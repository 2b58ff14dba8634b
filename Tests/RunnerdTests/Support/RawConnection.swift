import Foundation

/// A bare TCP connection to loopback, for what an HTTP client library will not do on purpose:
/// send a request and then never read, send garbage, or hang up mid-stream.
/// Used by one task at a time (handed to a blocking thread and back: `blocking`).
final class RawConnection: @unchecked Sendable {
    private(set) var fd: Int32

    init(port: Int, receiveBuffer: Int32? = nil) throws {
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
    func hangUp() {
        guard fd >= 0 else { return }
        close(fd)
        fd = -1
    }

    func send(_ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if written <= 0 { return }
            offset += written
        }
    }

    /// A POST with a JSON body.
    func post(_ path: String, token: String?, json: String) {
        var request = "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        if let token { request += "Authorization: Bearer \(token)\r\n" }
        request += "Content-Length: \(json.utf8.count)\r\n\r\n\(json)"
        send(request)
    }

    /// Reads until EOF (or `limit` bytes / `timeout`); returns what came and whether EOF was seen.
    func readToEnd(limit: Int = 1 << 30, timeout: TimeInterval = 30) -> (bytes: [UInt8], eof: Bool) {
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
    func readSome(timeout: TimeInterval = 2) -> [UInt8] {
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
