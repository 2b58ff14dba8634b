import Foundation
import Glibc
import SpawnerClient
import Testing

/// What the network confinement tests use: connection attempts made by an agent inside a
/// sandbox, listeners the test opens itself, and the sandbox's ruleset read from the host.
enum NetworkProbe {
    /// A python script an agent runs: one TCP connect per `host:port` argument (`[v6]:port`),
    /// printing `target connected` or `target ERRNAME`. The 20 s timeout is a hang guard: a
    /// refusing rule answers at once, and a silent drop shows as `timeout`, which no test expects.
    static let connectScript = """
        import errno, socket, sys
        for target in sys.argv[1:]:
            host, port = target.rsplit(":", 1)
            host = host.strip("[]")
            s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(20)
            try:
                s.connect((host, int(port)))
                print(target, "connected")
            except socket.timeout:
                print(target, "timeout")
            except OSError as e:
                print(target, errno.errorcode.get(e.errno, str(e.errno)))
            finally:
                s.close()
        """

    /// Runs the connect script as the agent in `session`; target → outcome.
    static func connect(_ client: SpawnerClient, _ session: String, _ targets: [String]) async throws -> [String: String] {
        let script = "cat > /tmp/connect.py <<'PY'\n\(connectScript)\nPY\npython3 /tmp/connect.py \(targets.joined(separator: " "))"
        let output = try await client.runShell(session, "connect-\(UInt32.random(in: 0...UInt32.max))", script).stdoutText
        var outcomes: [String: String] = [:]
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2 { outcomes[String(parts[0])] = String(parts[1]) }
        }
        return outcomes
    }

    /// Starts, as the agent in `session`, a TCP server on `port` (all addresses) that outlives
    /// the exec; the exec ends once it listens.
    static func startAgentListener(_ client: SpawnerClient, _ session: String, port: Int) async throws {
        let script = """
            python3 - <<'PY'
            import os, socket, time
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("0.0.0.0", \(port)))
            s.listen(16)
            if os.fork() == 0:
                os.setsid()
                null = os.open("/dev/null", os.O_RDWR)
                for fd in (0, 1, 2):
                    os.dup2(null, fd)
                while True:
                    c, _ = s.accept()
                    c.close()
            print("listening")
            PY
            """
        let result = try await client.runShell(session, "listen-\(port)", script)
        #expect(result.stdoutText == "listening\n", "agent listener in \(session)")
    }

    /// runnerd's pid on the host (the container's PID 1).
    static func pid(_ container: String) async throws -> Int32 {
        try #require(await DockerCLI.format(container, "{{.State.Pid}}").flatMap { Int32($0) })
    }

    /// `nft <arguments>` in the sandbox's network namespace, as root on the host (the test's
    /// privileges; nothing in the sandbox can do this).
    static func nft(_ container: String, _ arguments: [String]) async throws -> String {
        let pid = try await pid(container)
        let result = await DockerCLI.collect(DockerCLI.command(["nsenter", "-t", String(pid), "-n", "nft"] + arguments))
        try #require(result.status == 0, "nft \(arguments) in \(container): \(result.stderr)")
        return result.stdout
    }

    /// The elements of one of the ruleset's named sets.
    static func setElements(_ container: String, _ set: String) async throws -> [String] {
        let listing = try await nft(container, ["list", "set", "inet", "runnerd", set])
        guard let start = listing.range(of: "elements = {"), let end = listing[start.upperBound...].firstIndex(of: "}") else { return [] }
        return listing[start.upperBound..<end].split(whereSeparator: { $0 == "," || $0 == "\n" || $0 == "\t" || $0 == " " }).map(String.init)
    }

    /// The packet count of the output chain's TCP reset rule for `set` (`refused4`/`refused6`).
    static func refusedCount(_ container: String, _ set: String) async throws -> Int {
        let listing = try await nft(container, ["list", "chain", "inet", "runnerd", "output"])
        let family = set.hasSuffix("4") ? "ip" : "ip6"
        let line = try #require(listing.split(separator: "\n").first { $0.contains("\(family) daddr @\(set) meta l4proto") && $0.contains("reject") })
        let words = line.split(separator: " ")
        let index = try #require(words.firstIndex(of: "packets"))
        return try #require(Int(words[index + 1]))
    }

    /// The gateway (the host's address) of a Docker network.
    static func gateway(_ network: String) async throws -> String {
        let result = await DockerCLI.run(["network", "inspect", "-f", "{{range .IPAM.Config}}{{.Gateway}} {{end}}", network])
        return try #require(result.stdout.split(separator: " ").first.map(String.init), "gateway of \(network): \(result.stderr)")
    }

    /// A container's address on a network.
    static func address(_ container: String, on network: String) async throws -> String {
        try #require(await DockerCLI.format(container, "{{(index .NetworkSettings.Networks \"\(network)\").IPAddress}}"))
    }

    /// A curl from the host (the test) to `url`: its exit status (0 connected, 7 refused).
    static func hostCurl(_ url: String) async -> Int32 {
        await DockerCLI.collect(DockerCLI.command(["curl", "-s", "-o", "/dev/null", "-m", "20", url])).status
    }
}

/// A TCP listener the test opens on one of the host's addresses (a bridge's gateway): a
/// connection that reaches it is queued by the kernel, which `pending()` counts.
final class HostListener: @unchecked Sendable {
    let fd: Int32
    let address: String
    let port: Int

    init(address: String) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        self.fd = fd
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_addr.s_addr = inet_addr(address)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && listen(fd, 16) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard ok else {
            close(fd)
            throw DockerTestEnvironment.DockerUnavailable(reason: "cannot listen on \(address): errno \(errno)")
        }
        self.address = address
        port = Int(UInt16(bigEndian: socketAddress.sin_port))
    }

    var target: String { "\(address):\(port)" }

    /// Connections accepted from the queue now (each closed at once).
    func pending() -> Int {
        var count = 0
        while true {
            let connection = accept(fd, nil, nil)
            if connection < 0 { return count }
            close(connection)
            count += 1
        }
    }

    deinit { close(fd) }
}
