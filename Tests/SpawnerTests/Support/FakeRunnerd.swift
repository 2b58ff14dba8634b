import Foundation
import RunnerProtocol
import ServiceLifecycle
import SpawnerCore
import Synchronization

/// A runnerd that is not one, on a loopback port: it answers `/readyz` and `/healthz`, and
/// every exec or attach with a `start` event followed by one line that never ends, written as
/// fast as the reader takes it — what a compromised runnerd could send. It counts what it
/// wrote and notices when the reader hangs up.
final class FakeRunnerd: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let state = Mutex((endlessBytes: 0, hangUps: 0, connections: 0))
    /// The accepted connections still open (shut down by `stop`, as a runnerd that dies would).
    private let accepted = Mutex(Set<Int32>())

    var endlessBytesSent: Int { state.withLock { $0.endlessBytes } }
    /// Endless streams whose reader closed the connection.
    var hangUps: Int { state.withLock { $0.hangUps } }

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && listen(fd, 64) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    /// Stops listening and hangs up every open connection: runnerd is gone.
    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        Glibc.close(listener)
        accepted.withLock { open in
            for fd in open { shutdown(fd, Int32(SHUT_RDWR)) }
        }
    }

    private func acceptLoop() {
        while true {
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { return }
            accepted.withLock { _ = $0.insert(fd) }
            Thread { [self] in serve(fd) }.start()
        }
    }

    private func serve(_ fd: Int32) {
        defer {
            // Forgotten before it is closed, so `stop` never shuts down a reused descriptor.
            accepted.withLock { _ = $0.remove(fd) }
            Glibc.close(fd)
        }
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            // One request: its head, then its body (Content-Length).
            var headEnd = buffer.firstRange(of: Array("\r\n\r\n".utf8))
            while headEnd == nil {
                let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                guard count > 0 else { return }
                buffer += chunk[..<count]
                headEnd = buffer.firstRange(of: Array("\r\n\r\n".utf8))
            }
            let head = String(decoding: buffer[..<headEnd!.lowerBound], as: UTF8.self)
            let lines = head.components(separatedBy: "\r\n")
            let length = lines.dropFirst().compactMap { line -> Int? in
                let parts = line.split(separator: ":", maxSplits: 1)
                return parts.count == 2 && parts[0].lowercased() == "content-length" ? Int(parts[1].trimmingCharacters(in: .whitespaces)) : nil
            }.first ?? 0
            buffer.removeFirst(headEnd!.upperBound)
            while buffer.count < length {
                let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                guard count > 0 else { return }
                buffer += chunk[..<count]
            }
            buffer.removeFirst(length)
            let target = lines.first?.split(separator: " ").dropFirst().first.map(String.init) ?? ""
            if target.hasPrefix("/execs") && (head.hasPrefix("POST /execs ") || target.contains("/attach")) {
                return endless(fd)
            }
            let body = target.hasPrefix("/healthz")
                ? #"{"ok":true,"bootedAtMs":1,"lastActivityAtMs":1,"liveExecs":0,"version":"fake"}"#
                : #"{"ok":true}"#
            guard send(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)") else { return }
        }
    }

    private func endless(_ fd: Int32) {
        let start = #"{"seq":1,"t":"start","execId":"x","startedAtMs":1,"pid":1}"# + "\n" + #"{"seq":2,"t":"stdout","b64":""#
        guard send(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nConnection: close\r\n\r\n" + start) else { return }
        let block = [UInt8](repeating: UInt8(ascii: "A"), count: 64 << 10)
        while true {
            let written = block.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written <= 0 {
                state.withLock { $0.hangUps += 1 }
                return
            }
            state.withLock { $0.endlessBytes += written }
        }
    }

    private func send(_ fd: Int32, _ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
    }
}

/// A backend whose every session is the fake runnerd.
struct FakeRunnerdBackend: SessionBackend {
    let port: Int
    let name = "fake"
    var services: [any Service] { [] }

    func create(_ spec: SandboxSpec, deadline: ContinuousClock.Instant) async throws -> RunnerdEndpoint {
        RunnerdEndpoint(host: "127.0.0.1", port: port)
    }

    func destroy(sessionId: String) async throws {}
    func listLive() async throws -> [BackendSession] { [] }
    func endpoint(of sessionId: String) async -> RunnerdEndpoint? { RunnerdEndpoint(host: "127.0.0.1", port: port) }
}
