import Foundation

/// Many TCP connections to a loopback port, opened without waiting for the server to accept
/// them (non-blocking connects), held until `close()`.
final class ConnectionFlood {
    private(set) var descriptors: [Int32] = []

    init(port: Int, count: Int) throws {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        for _ in 0..<count {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            guard fd >= 0 else { throw RawConnection.Failure(description: "socket: errno \(errno) after \(descriptors.count)") }
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard result == 0 || errno == EINPROGRESS else {
                let code = errno
                Glibc.close(fd)
                throw RawConnection.Failure(description: "connect: errno \(code) after \(descriptors.count)")
            }
            descriptors.append(fd)
        }
    }

    /// Sends the first line and a header of a request, never its end, on every other
    /// connection that is established by now (a slowloris); the rest send nothing.
    func sendPartialHeads() {
        let partial = Array("GET /v1/sessions HTTP/1.1\r\nHost: flood\r\n".utf8)
        for fd in descriptors.enumerated().filter({ $0.offset % 2 == 0 }).map(\.element) {
            _ = partial.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }
    }

    func close() {
        for fd in descriptors { Glibc.close(fd) }
        descriptors = []
    }

    deinit { close() }
}

extension ProcessScan {
    /// Open sockets of a process.
    static func socketCount(_ pid: Int32) -> Int {
        descriptorTargets(pid).filter { $0.hasPrefix("socket:") }.count
    }
}
