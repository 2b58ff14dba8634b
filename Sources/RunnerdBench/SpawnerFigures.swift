import AsyncHTTPClient
import Glibc
import NIOCore
import NIOSSL
import RunnerProtocol
import RunnerdClient
import SpawnerClient
import SystemSupport

/// The spawner's figures (issue 4), printed as `name value unit` lines:
/// - `create_to_ready_p50_ms` (and `_p99_ms`): `POST /v1/sessions` until its `201`, local
///   backend, `sessions` sessions created one after another;
/// - `proxy_stream_mb_per_s`: `head -c streamBytes /dev/zero` streamed through the spawner's
///   SSE proxy and decoded by the client; `direct_stream_mb_per_s`: the same stream straight
///   from a runnerd in the same run; `proxy_overhead_ratio` = proxy / direct (the
///   median of `rounds` alternated runs each); `spawner_cpu_ms_per_proxied_gb`: the spawner's
///   CPU time (user + system) per GB of output proxied — steadier than throughput on a
///   shared machine;
/// - `spawner_idle_rss_kb` after boot, and `spawner_rss_after_runs_kb`;
/// - `spawner_exec_roundtrip_p50_ms` and `pty_echo_roundtrip_p50_ms` (`TerminalFigures`).
func measureSpawnerFigures(spawnerBinary: String, runnerdBinary: String, streamBytes: Int, sessions: Int = 50, rounds: Int = 9) async throws {
    let scratch = "/tmp/spawner-bench-\(getpid())"
    mkdir(scratch, 0o711)
    defer { removeTree(scratch) }
    let spawner = try await SpawnerUnderTest(binary: spawnerBinary, runnerdBinary: runnerdBinary, scratch: scratch)
    defer { spawner.stop() }
    try await Task.sleep(for: .milliseconds(300))
    let idleRSS = residentKB(spawner.pid)

    var createToReady = Sample()
    for index in 0..<sessions {
        let clock = ContinuousClock()
        let start = clock.now
        try await spawner.createSession("bench-\(index)")
        createToReady.add((clock.now - start).milliseconds)
    }
    for index in 0..<sessions { try await spawner.deleteSession("bench-\(index)") }

    let stream = try await ProxyStreamFigures.measure(spawner: spawner, runnerdBinary: runnerdBinary, scratch: scratch, streamBytes: streamBytes, rounds: rounds)
    try await Task.sleep(for: .milliseconds(300))
    let afterRSS = residentKB(spawner.pid)
    let terminal = try await measureTerminalFigures(spawner)
    let tls = try await measureTLSFigures(plain: spawner, spawnerBinary: spawnerBinary, runnerdBinary: runnerdBinary, scratch: scratch, streamBytes: streamBytes)

    report("create_to_ready_p50_ms", createToReady.percentile(50), "ms")
    report("create_to_ready_p99_ms", createToReady.percentile(99), "ms")
    stream.report()
    report("spawner_idle_rss_kb", Double(idleRSS), "KiB")
    report("spawner_rss_after_runs_kb", Double(afterRSS), "KiB")
    report("spawner_exec_roundtrip_p50_ms", terminal.execRoundTrip.percentile(50), "ms")
    report("pty_echo_roundtrip_p50_ms", terminal.ptyEcho.percentile(50), "ms")
    report("pty_echo_roundtrip_p99_ms", terminal.ptyEcho.percentile(99), "ms")
    tls.report()
}

/// Only the proxied-against-direct stream (`--only proxy-stream`): for profiling the relay.
func measureProxyStreamOnly(spawnerBinary: String, runnerdBinary: String, streamBytes: Int, rounds: Int) async throws {
    let scratch = "/tmp/spawner-bench-\(getpid())"
    mkdir(scratch, 0o711)
    defer { removeTree(scratch) }
    let spawner = try await SpawnerUnderTest(binary: spawnerBinary, runnerdBinary: runnerdBinary, scratch: scratch)
    defer { spawner.stop() }
    try await ProxyStreamFigures.measure(spawner: spawner, runnerdBinary: runnerdBinary, scratch: scratch, streamBytes: streamBytes, rounds: rounds).report()
}

/// A release `spawner serve` (the local backend unless `environment` says otherwise), on a
/// loopback port it announces.
final class SpawnerUnderTest: @unchecked Sendable {
    let pid: pid_t
    let client: RunnerdClient
    let signer: HMACSigner
    let secret: String
    /// With a certificate: HTTPS, verified against `certificates.ca`.
    let tls: TLSConfiguration?

    init(
        binary: String, runnerdBinary: String, scratch: String, environment extra: [String] = [], certificates: BenchCertificates? = nil,
        name: String = "spawner"
    ) async throws {
        let secret = (0..<32).map { _ in String(UInt8.random(in: 0...255), radix: 16) }.joined()
        self.secret = secret
        signer = HMACSigner(secret: Array(secret.utf8))
        let readyFile = scratch + "/\(name)-ready.json"
        let tlsFiles = certificates.map { ["SPAWNER_TLS_CERT=\($0.certificate)", "SPAWNER_TLS_KEY=\($0.key)"] } ?? []
        tls = certificates.map { SpawnerClient.tlsConfiguration(caFile: $0.ca) }
        let environment = Syscall.environment().filter { !$0.hasPrefix("SPAWNER_") && !$0.hasPrefix("RUNNERD_") } + tlsFiles + [
            "SPAWNER_SECRET=\(secret)", "SPAWNER_LISTEN=127.0.0.1:0", "SPAWNER_DATA_DIR=\(scratch)/\(name)-data",
            "SPAWNER_READY_FILE=\(readyFile)", "SPAWNER_RUNNERD_PATH=\(runnerdBinary)", "SPAWNER_LOG_LEVEL=warning",
            "SPAWNER_RUNNERD_LOG_LEVEL=warning",
        ] + extra
        let devNull = open("/dev/null", O_RDWR)
        defer { close(devNull) }
        pid = try ProcessSpawner.spawn(
            SpawnSpec(argv: [binary, "serve"], environment: environment, cwdFD: nil, stdin: devNull, stdout: devNull, stderr: 2))
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let bytes = try? Syscall.readFile(readyFile), let announcement = try? WireJSON.decode(ListenAnnouncement.self, from: bytes) {
                if let tls {
                    let http = SpawnerClient.makeHTTPClient(tlsConfiguration: tls)
                    client = RunnerdClient(baseURL: "https://127.0.0.1:\(announcement.port)", token: nil, httpClient: http)
                } else {
                    client = RunnerdClient(baseURL: "http://127.0.0.1:\(announcement.port)", token: nil)
                }
                return
            }
            var status: CInt = 0
            if waitpid(pid, &status, WNOHANG) == pid { throw BenchError("spawner exited during boot (status \(status); its stderr is above)") }
            try await Task.sleep(for: .milliseconds(5))
        }
        kill(pid, SIGKILL)
        throw BenchError("spawner did not announce its port within 30 s")
    }

    /// The spawner's signature headers for a request, signed anew (a signature works once).
    private func signed(_ method: String, _ path: String, _ body: [UInt8]) -> [(String, String)] {
        signer.headers(method: method, pathWithQuery: path, body: body, nowMs: SigningClock.shared.next())
    }

    /// A `SpawnerClient` of this spawner (HTTPS with its CA when it has a certificate).
    var spawnerClient: SpawnerClient {
        SpawnerClient(baseURL: client.baseURL, secret: Array(secret.utf8), httpClient: client.httpClient, tlsConfiguration: tls)
    }

    func createSession(_ sessionId: String) async throws {
        let request = CreateSessionRequest(sessionId: sessionId, owner: SessionOwner(kind: "user", id: "bench"), orgId: "bench")
        let body = try WireJSON.encode(request)
        let (status, _) = try await client.call(.POST, "/v1/sessions", body: body, headers: signed("POST", "/v1/sessions", body))
        guard status == 201 else { throw BenchError("create \(sessionId): HTTP \(status)") }
    }

    func deleteSession(_ sessionId: String) async throws {
        let path = "/v1/sessions/\(sessionId)"
        let (status, _) = try await client.call(.DELETE, path, headers: signed("DELETE", path, []))
        guard status == 204 else { throw BenchError("delete \(sessionId): HTTP \(status)") }
    }

    /// The exec's events from the SSE stream: each `data:` line decoded as the client does.
    func exec(_ sessionId: String, _ request: ExecRequest) async throws -> SSEDataEvents {
        let path = "/v1/sessions/\(sessionId)/exec"
        let body = try WireJSON.encode(request)
        let response = try await client.send(.POST, path, body: body, headers: signed("POST", path, body), timeout: .hours(1))
        guard response.status.code == 200 else { throw BenchError("exec: HTTP \(response.status.code)") }
        return SSEDataEvents(lines: NDJSONLineSequence(body: response.body))
    }

    func stop() {
        kill(pid, SIGTERM)
        var status: CInt = 0
        waitpid(pid, &status, 0)
    }

    /// Stops the spawner and shuts down the HTTPS client made for it.
    func stopAndShutDown() async {
        stop()
        if tls != nil { try? await client.httpClient.shutdown() }
    }
}

/// Exec events of an SSE body: its `data: ` lines, decoded by `EventReader`.
struct SSEDataEvents: AsyncSequence {
    typealias Element = ExecEvent
    let lines: NDJSONLineSequence<RunnerdClient.Body>

    struct AsyncIterator: AsyncIteratorProtocol {
        var lines: NDJSONLineSequence<RunnerdClient.Body>.AsyncIterator
        mutating func next() async throws -> ExecEvent? {
            while var line = try await lines.next() {
                guard line.readableBytesView.starts(with: "data: ".utf8) else { continue }
                line.moveReaderIndex(forwardBy: 6)
                return try EventReader.decode(line)
            }
            return nil
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(lines: lines.makeAsyncIterator()) }
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? .nan : sorted[sorted.count / 2]
}

func removeTree(_ path: String) {
    let pid = try? ProcessSpawner.spawn(SpawnSpec(argv: ["rm", "-rf", path], environment: Syscall.environment(), cwdFD: nil, stdin: 0, stdout: 1, stderr: 2))
    var status: CInt = 0
    if let pid { waitpid(pid, &status, 0) }
}
