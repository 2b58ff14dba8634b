import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import Foundation
import RunnerProtocol
import SpawnerClient
import Testing
import TestSupport

/// A real `spawner serve` started for one test: its own data directory, secret and ephemeral
/// port (learned from `--ready-file`); its runnerd children are real too.
final class SpawnerProcess: @unchecked Sendable {
    let dataDir: String
    let secret: String
    let environment: [String: String]
    let process: ChildProcess
    let port: Int
    let logPath: String

    var pid: Int32 { process.processIdentifier }
    var baseURL: String { "http://127.0.0.1:\(port)" }
    var client: SpawnerClient { SpawnerClient(baseURL: baseURL, secret: Array(secret.utf8)) }
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    private init(dataDir: String, secret: String, environment: [String: String], process: ChildProcess, port: Int, logPath: String) {
        self.dataDir = dataDir
        self.secret = secret
        self.environment = environment
        self.process = process
        self.port = port
        self.logPath = logPath
    }

    /// Starts a spawner; `environment` adds to (or overrides) the test defaults.
    static func start(
        dataDir: String? = nil, secret: String = TestPaths.makeSecret(), environment: [String: String] = [:], user: TestUser? = .current
    ) async throws -> SpawnerProcess {
        let dataDir = dataDir ?? TestPaths.makeTempDir("spawner-data") + "/data"
        let scratch = TestPaths.makeTempDir("spawner-run")
        if let user {
            // The spawner creates its data directory and writes its ready file as that user.
            user.own(URL(fileURLWithPath: dataDir).deletingLastPathComponent().path)
            user.own(scratch)
        }
        let readyFile = scratch + "/ready.json"
        let logPath = scratch + "/spawner.log"
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SPAWNER_") && !$0.key.hasPrefix("RUNNERD_") }
        env["SPAWNER_LISTEN"] = "127.0.0.1:0"
        env["SPAWNER_SECRET"] = secret
        env["SPAWNER_DATA_DIR"] = dataDir
        env["SPAWNER_READY_FILE"] = readyFile
        env["SPAWNER_READY_TIMEOUT_MS"] = "60000"
        env["SPAWNER_LOG_LEVEL"] = "debug"
        env["SPAWNER_RUNNERD_KILL_GRACE_MS"] = "1000"
        for (key, value) in environment { env[key] = value }

        if user != nil { env["HOME"] = scratch }

        let command = (user?.execPrefix ?? []) + [try user?.publicSpawner() ?? TestPaths.spawner, "serve"]
        let process = try ChildProcess(command, environment: env, stdout: .file(logPath), stderr: .file(logPath))

        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if let data = FileManager.default.contents(atPath: readyFile),
                let announcement = try? WireJSON.decode(ListenAnnouncement.self, from: Array(data)), announcement.pid == process.processIdentifier
            {
                return SpawnerProcess(dataDir: dataDir, secret: secret, environment: environment, process: process, port: announcement.port, logPath: logPath)
            }
            if !process.isRunning {
                let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
                throw StartFailure(status: process.terminationStatus, log: log)
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        process.terminate()
        throw StartFailure(status: -1, log: "spawner did not announce its port within 60 s")
    }

    struct StartFailure: Error, CustomStringConvertible {
        let status: Int32
        let log: String
        var description: String { "spawner exited with \(status): \(log)" }
    }

    /// A new spawner on the same data directory and secret.
    func restart(environment: [String: String]? = nil) async throws -> SpawnerProcess {
        try await SpawnerProcess.start(dataDir: dataDir, secret: secret, environment: environment ?? self.environment)
    }

    /// SIGKILL, and wait until it is gone.
    func kill9() {
        guard process.isRunning else { return }
        kill(pid, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM, then SIGKILL after `timeout`; returns the exit status.
    @discardableResult
    func stop(timeout: Duration = .seconds(20)) async -> Int32 {
        guard process.isRunning else { return process.terminationStatus }
        kill(pid, SIGTERM)
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning { kill9() }
        return process.terminationStatus
    }

    /// The runnerd processes of this data directory.
    var runnerdProcesses: [Int32] { ProcessScan.processes(mentioning: dataDir + "/sessions/") }

    /// Session directories on disk.
    var sessionDirectories: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dataDir + "/sessions")) ?? []).sorted()
    }

    /// Deletes every session, stops the spawner, kills any runnerd left behind and removes
    /// the data directory. Returns what leaked (expected empty).
    @discardableResult
    func tearDown() async -> [Int32] {
        if process.isRunning, let sessions = try? await client.listSessions() {
            for session in sessions { try? await client.deleteSession(session.sessionId) }
        }
        await stop()
        let leaked = runnerdProcesses
        for pid in leaked { kill(pid, SIGKILL) }
        TestPaths.remove(URL(fileURLWithPath: dataDir).deletingLastPathComponent().path)
        return leaked
    }
}

/// Runs `body` with a fresh spawner and always tears it down; fails the test if a runnerd
/// outlived the teardown.
@discardableResult
func withSpawner<T>(
    dataDir: String? = nil, environment: [String: String] = [:], user: TestUser? = .current, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: (SpawnerProcess) async throws -> T
) async throws -> T {
    let spawner = try await SpawnerProcess.start(dataDir: dataDir, environment: environment, user: user)
    do {
        let result = try await body(spawner)
        let leaked = await spawner.tearDown()
        #expect(leaked.isEmpty, "runnerd processes left behind: \(leaked)", sourceLocation: sourceLocation)
        return result
    } catch {
        let log = spawner.log
        await spawner.tearDown()
        Issue.record("spawner log:\n\(log.suffix(4000))", sourceLocation: sourceLocation)
        throw error
    }
}

extension SpawnerClient {
    /// A session for `owner` in `orgId` with the test defaults.
    func create(
        _ sessionId: String? = nil, owner: String = "alice", orgId: String = "org-a", env: [String: String]? = nil, ttlMs: Int64? = nil,
        idleTimeoutMs: Int64? = nil
    ) async throws -> SessionInfo {
        try await createSession(
            CreateSessionRequest(
                sessionId: sessionId, owner: SessionOwner(kind: "user", id: owner), orgId: orgId, env: env, ttlMs: ttlMs,
                idleTimeoutMs: idleTimeoutMs))
    }

    /// Runs an exec to its end; every event.
    func run(_ sessionId: String, _ request: ExecRequest) async throws -> [ExecEvent] {
        var events: [ExecEvent] = []
        for try await event in try await exec(sessionId, request) { events.append(event) }
        return events
    }

    func runShell(_ sessionId: String, _ execId: String, _ script: String, timeoutMs: Int64 = 60_000) async throws -> [ExecEvent] {
        try await run(sessionId, ExecRequest(execId: execId, shell: script, timeoutMs: timeoutMs))
    }

    /// The HTTP status of a call (and its body), for assertions on errors.
    func status(_ method: HTTPMethod, _ path: String, body: [UInt8] = []) async throws -> (Int, ErrorBody?) {
        let (status, _, bytes) = try await call(method, path, body: body)
        return (status, try? WireJSON.decode(ErrorBody.self, from: bytes))
    }
}

/// Output and end of a finished event list.
extension Array where Element == ExecEvent {
    var stdout: [UInt8] { flatMap { event -> [UInt8] in if case .stdout(let bytes) = event.body { bytes } else { [] } } }
    var stderr: [UInt8] { flatMap { event -> [UInt8] in if case .stderr(let bytes) = event.body { bytes } else { [] } } }
    var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    var exit: ExecEvent.Exit? { if case .exit(let exit) = last?.body { exit } else { nil } }
}

extension SpawnerProcess {
    /// An unsigned GET (the open routes).
    func openGET(_ path: String) async throws -> (status: Int, body: String) {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: baseURL + path), timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 16 << 20)
        return (Int(response.status.code), String(buffer: body))
    }

    /// Passes of the sweeper completed since this spawner started (`spawner_sweeps_total`).
    func sweeps() async throws -> Int {
        let metrics = try await openGET("/metrics").body
        let line = metrics.split(separator: "\n").first { $0.hasPrefix("spawner_sweeps_total ") }
        return line.flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
    }

    /// Waits until `count` more passes of the sweeper have completed: with two, a whole pass
    /// started after this call.
    func sweepsComplete(_ count: Int = 2) async throws {
        let start = try await sweeps()
        #expect(try await eventually(timeout: .seconds(60)) { try await sweeps() >= start + count }, "the sweeper stopped sweeping")
    }
}
