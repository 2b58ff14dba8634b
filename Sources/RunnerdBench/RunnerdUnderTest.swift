import Glibc
import NIOCore
import RunnerProtocol
import RunnerdClient
import RunnerdCore
import SystemSupport

/// A release runnerd started by the benchmark, with boot-to-ready timing.
final class RunnerdUnderTest: @unchecked Sendable {
    let pid: pid_t
    let port: Int
    let client: RunnerdClient
    let token: String
    let bootToReady: Duration

    /// Starts `binary` on a free loopback port and waits until `/readyz` answers.
    init(binary: String, workspace: String, token: String, environment extra: [String] = [], probeGroup: any EventLoopGroup) async throws {
        port = try Self.freePort()
        self.token = token
        let environment = Syscall.environment().filter { !$0.hasPrefix("RUNNERD_") } + [
            "RUNNERD_TOKEN=\(token)", "RUNNERD_LISTEN=127.0.0.1:\(port)", "RUNNERD_WORKSPACE=\(workspace)",
            "RUNNERD_LOG_LEVEL=warning",
        ] + extra
        let devNull = open("/dev/null", O_RDWR)
        defer { close(devNull) }
        let clock = ContinuousClock()
        let started = clock.now
        pid = try ProcessSpawner.spawn(SpawnSpec(argv: [binary], environment: environment, cwdFD: nil, stdin: devNull, stdout: devNull, stderr: 2))
        client = RunnerdClient(baseURL: "http://127.0.0.1:\(port)", token: token)
        // Connect attempts every 200 µs: the first accepted connection gets the /readyz.
        while !Self.canConnect(port) {
            var status: CInt = 0
            if waitpid(pid, &status, WNOHANG) == pid { throw BenchError("runnerd exited during boot (status \(status))") }
            usleep(200)
        }
        guard try await ReadyProbe.status(group: probeGroup, port: port) == 200 else { throw BenchError("/readyz did not answer 200") }
        bootToReady = clock.now - started
    }

    var rssKB: Int { residentKB(pid) }

    func stop() {
        kill(pid, SIGTERM)
        var status: CInt = 0
        waitpid(pid, &status, 0)
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw BenchError("bind failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func canConnect(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = loopback(port: port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
