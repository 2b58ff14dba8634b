import ConformanceKit
import Foundation

/// One broken rule, applied by `FaultProxy` to what passes through it.
struct Fault: Sendable {
    let name: String
    /// The checks this fault must make FAIL.
    let breaks: [String]
    /// Rewrites a request (method, path, headers, body) before it goes to runnerd.
    var request: @Sendable (String, String, [(String, String)], [UInt8]) -> ([(String, String)], [UInt8]) = { _, _, h, b in (h, b) }
    /// Rewrites a whole JSON answer (path, status, body) → (status, body).
    var answer: @Sendable (String, Int, [UInt8]) -> (Int, [UInt8]) = { _, s, b in (s, b) }
    /// Makes the line rewriter of one NDJSON stream.
    var stream: @Sendable () -> any LineRewriter = { PassLines() }
}

/// Rewrites the lines of one NDJSON stream as they pass.
protocol LineRewriter: AnyObject {
    func line(_ line: [UInt8]) -> [[UInt8]]
    func end() -> [[UInt8]]
}

final class PassLines: LineRewriter {
    func line(_ line: [UInt8]) -> [[UInt8]] { [line] }
    func end() -> [[UInt8]] { [] }
}

/// A small HTTP/1.1 proxy in front of a real runnerd, one thread per connection, one request
/// per connection (answers carry `connection: close`). NDJSON answers are relayed line by line
/// as they arrive, through the fault's rewriter; other answers whole, through `answer`. A
/// client that goes away closes the upstream connection too, so runnerd sees what it would see.
final class FaultProxy: @unchecked Sendable {
    let fault: Fault
    let upstreamPort: Int
    let listener: Int32
    let port: Int
    var url: String { "http://127.0.0.1:\(port)" }

    init(upstreamPort: Int, fault: Fault) throws {
        self.fault = fault
        self.upstreamPort = upstreamPort
        signal(SIGPIPE, SIG_IGN)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = Self.loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        guard withUnsafePointer(to: &address, { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }) == 0,
            listen(fd, 64) == 0
        else {
            close(fd)
            throw TestFailure("proxy: cannot listen (errno \(errno))")
        }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        let listener = fd
        Thread.detachNewThread { [self] in
            while true {
                let client = accept(listener, nil, nil)
                if client < 0 {
                    if errno == EINTR { continue }
                    return
                }
                Thread.detachNewThread { [self] in
                    serve(client)
                    close(client)
                }
            }
        }
    }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        return address
    }

    // MARK: One connection

    /// Reads a head (up to the blank line) from `fd`, with what came after it.
    static func readHead(_ fd: Int32, _ buffer: inout [UInt8]) -> [UInt8]? {
        let marker: [UInt8] = [13, 10, 13, 10]
        while true {
            if let end = buffer.indices.dropLast(3).first(where: { Array(buffer[$0..<$0 + 4]) == marker }) {
                let head = Array(buffer[..<(end + 4)])
                buffer.removeFirst(end + 4)
                return head
            }
            guard let more = readSome(fd) else { return nil }
            buffer += more
        }
    }

    static func readSome(_ fd: Int32) -> [UInt8]? {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n > 0 { return Array(chunk[0..<n]) }
            if n < 0 && errno == EINTR { continue }
            return nil
        }
    }

    static func readExactly(_ fd: Int32, _ count: Int, _ buffer: inout [UInt8]) -> [UInt8]? {
        while buffer.count < count {
            guard let more = readSome(fd) else { return nil }
            buffer += more
        }
        let out = Array(buffer[..<count])
        buffer.removeFirst(count)
        return out
    }

    @discardableResult
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }

    static func parse(_ head: [UInt8]) -> (String, [(String, String)]) {
        let lines = String(decoding: head, as: UTF8.self).components(separatedBy: "\r\n").filter { !$0.isEmpty }
        let first = lines.first ?? ""
        let headers = lines.dropFirst().compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        return (first, headers)
    }

    static func value(_ headers: [(String, String)], _ name: String) -> String? {
        headers.first { $0.0.lowercased() == name }?.1
    }

    func serve(_ client: Int32) {
        var pending: [UInt8] = []
        guard let head = Self.readHead(client, &pending) else { return }
        let (requestLine, requestHeaders) = Self.parse(head)
        let parts = requestLine.split(separator: " ")
        guard parts.count >= 2 else { return }
        let method = String(parts[0])
        let path = String(parts[1])
        let length = Int(Self.value(requestHeaders, "content-length") ?? "0") ?? 0
        guard let body = Self.readExactly(client, length, &pending) else { return }
        let (headers, newBody) = fault.request(method, path, requestHeaders, body)

        let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(upstream) }
        var address = Self.loopback(port: upstreamPort)
        guard withUnsafePointer(to: &address, { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }) == 0 else { return }
        var out = "\(method) \(path) HTTP/1.1\r\n"
        for (name, value) in headers where !["content-length", "connection", "transfer-encoding"].contains(name.lowercased()) {
            out += "\(name): \(value)\r\n"
        }
        out += "content-length: \(newBody.count)\r\nconnection: close\r\n\r\n"
        guard Self.writeAll(upstream, Array(out.utf8) + newBody) else { return }

        var upPending: [UInt8] = []
        guard let responseHead = Self.readHead(upstream, &upPending) else { return }
        let (statusLine, responseHeaders) = Self.parse(responseHead)
        let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "") ?? 502
        let chunked = Self.value(responseHeaders, "transfer-encoding")?.lowercased().contains("chunked") == true
        let declared = Self.value(responseHeaders, "content-length").flatMap { Int($0) }
        let isStream = (Self.value(responseHeaders, "content-type") ?? "").hasPrefix("application/x-ndjson")
        let kept = responseHeaders.filter { !["content-length", "connection", "transfer-encoding"].contains($0.0.lowercased()) }
        var decoder = BodyDecoder(chunked: chunked, remaining: declared)

        if !isStream {
            var whole: [UInt8] = []
            var buffer = upPending
            while true {
                let (bytes, done) = decoder.feed(&buffer)
                whole += bytes
                if done { break }
                guard let more = Self.readSome(upstream) else { break }
                buffer += more
            }
            let (newStatus, newAnswer) = fault.answer(path, status, whole)
            var text = "HTTP/1.1 \(newStatus) \(newStatus == status ? String(statusLine.split(separator: " ", maxSplits: 2).last ?? "") : "Changed")\r\n"
            for (name, value) in kept { text += "\(name): \(value)\r\n" }
            text += "content-length: \(newAnswer.count)\r\nconnection: close\r\n\r\n"
            Self.writeAll(client, Array(text.utf8) + newAnswer)
            return
        }

        var text = "HTTP/1.1 \(statusLine.split(separator: " ", maxSplits: 1).last ?? "200 OK")\r\n"
        for (name, value) in kept { text += "\(name): \(value)\r\n" }
        text += "connection: close\r\n\r\n"
        guard Self.writeAll(client, Array(text.utf8)) else { return }
        let rewriter = fault.stream()
        var buffer = upPending
        var line: [UInt8] = []
        func emit(_ lines: [[UInt8]]) -> Bool {
            lines.allSatisfy { Self.writeAll(client, $0 + [10]) }
        }
        while true {
            let (bytes, done) = decoder.feed(&buffer)
            var out: [[UInt8]] = []
            for byte in bytes {
                if byte == 10 {
                    out += rewriter.line(line)
                    line = []
                } else {
                    line.append(byte)
                }
            }
            guard emit(out) else { return }
            if done { break }
            // Wait for upstream bytes or the client going away.
            var fds = [pollfd(fd: upstream, events: Int16(POLLIN), revents: 0), pollfd(fd: client, events: Int16(POLLIN), revents: 0)]
            while poll(&fds, 2, -1) < 0 && errno == EINTR {}
            if fds[1].revents != 0 {
                var probe = [UInt8](repeating: 0, count: 1)
                if recv(client, &probe, 1, Int32(MSG_PEEK | MSG_DONTWAIT)) <= 0 { return }
            }
            if fds[0].revents != 0 {
                guard let more = Self.readSome(upstream) else { break }
                buffer += more
            }
        }
        _ = emit(rewriter.end())
    }
}

/// Undoes the body framing of an answer: chunked, content-length, or until close.
struct BodyDecoder {
    let chunked: Bool
    var remaining: Int?
    var chunkLeft = 0
    var finished = false

    init(chunked: Bool, remaining: Int?) {
        self.chunked = chunked
        self.remaining = chunked ? nil : remaining
    }

    /// Takes what it can from `buffer`: body bytes, and whether the body ended.
    mutating func feed(_ buffer: inout [UInt8]) -> ([UInt8], Bool) {
        if finished { return ([], true) }
        if !chunked {
            guard let left = remaining else {
                let all = buffer
                buffer = []
                return (all, false)
            }
            let n = min(left, buffer.count)
            let out = Array(buffer[..<n])
            buffer.removeFirst(n)
            remaining = left - n
            if left - n == 0 { finished = true }
            return (out, finished)
        }
        var out: [UInt8] = []
        while true {
            if chunkLeft > 0 {
                let n = min(chunkLeft, buffer.count)
                out += buffer[..<n]
                buffer.removeFirst(n)
                chunkLeft -= n
                if chunkLeft > 0 { return (out, false) }
                // The CRLF after the chunk's data.
                pendingCRLF = true
            }
            if pendingCRLF {
                guard buffer.count >= 2 else { return (out, false) }
                buffer.removeFirst(2)
                pendingCRLF = false
            }
            guard let lineEnd = buffer.indices.dropLast().first(where: { buffer[$0] == 13 && buffer[$0 + 1] == 10 }) else { return (out, false) }
            let sizeText = String(decoding: buffer[..<lineEnd], as: UTF8.self).split(separator: ";").first.map(String.init) ?? ""
            let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) ?? 0
            buffer.removeFirst(lineEnd + 2)
            if size == 0 {
                finished = true
                return (out, true)
            }
            chunkLeft = size
        }
    }

    var pendingCRLF = false
}
