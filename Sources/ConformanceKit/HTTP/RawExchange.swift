#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One HTTP/1.1 request over a plain socket, for the one check a pooled client cannot make
/// reliably: a body over the limit, which a server may refuse on the head and close on
/// without reading (the client then loses the answer to a reset while it still uploads).
/// Here the head goes first; an answer that arrives before the body is sent is taken as is.
enum RawExchange {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The status of `method path` with `body`, sent to `baseURL` (http only).
    static func status(baseURL: String, method: String, path: String, headers: [(String, String)], body: [UInt8]) async throws -> Int {
        try await Task.detached { try blockingStatus(baseURL: baseURL, method: method, path: path, headers: headers, body: body) }.value
    }

    static func blockingStatus(baseURL: String, method: String, path: String, headers: [(String, String)], body: [UInt8]) throws -> Int {
        guard baseURL.hasPrefix("http://") else { throw Failure(description: "only http:// targets can be checked for this rule") }
        let authority = baseURL.dropFirst(7).prefix { $0 != "/" }
        let host: String
        let port: String
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            port = authority[close...].split(separator: ":").last.map(String.init) ?? "80"
        } else {
            let parts = authority.split(separator: ":")
            host = String(parts.first ?? "")
            port = parts.count > 1 ? String(parts[1]) : "80"
        }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, port, &hints, &result) == 0, let info = result else { throw Failure(description: "cannot resolve \(host)") }
        defer { freeaddrinfo(result) }
        let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        defer { close(fd) }
        guard connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else { throw Failure(description: "connect: errno \(errno)") }
        var head = "\(method) \(path) HTTP/1.1\r\nhost: \(authority)\r\ncontent-length: \(body.count)\r\ncontent-type: application/json\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "connection: close\r\n\r\n"
        guard write(fd, Array(head.utf8)) else { throw Failure(description: "the head could not be sent") }
        if !readable(fd, milliseconds: 1000) {
            _ = write(fd, body)  // a server that closes mid-body is answered below, or not at all
        }
        guard readable(fd, milliseconds: 60_000) else { throw Failure(description: "no answer within 60 s") }
        var answer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while !answer.contains(10) {
            let n = recv(fd, &chunk, chunk.count, 0)
            if n <= 0 { break }
            answer += chunk[0..<n]
        }
        let line = String(decoding: answer.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self)
        guard line.hasPrefix("HTTP/1."), let status = Int(line.split(separator: " ").dropFirst().first ?? "") else {
            throw Failure(description: "no status line (connection closed or reset without an answer)")
        }
        return status
    }

    static func write(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }

    static func readable(_ fd: Int32, milliseconds: Int32) -> Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while true {
            let n = poll(&p, 1, milliseconds)
            if n < 0 && errno == EINTR { continue }
            return n > 0
        }
    }
}
