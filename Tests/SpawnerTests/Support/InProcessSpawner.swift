import Foundation
import Logging
import RunnerProtocol
import ServiceLifecycle
import SpawnerClient
import SpawnerCore
import SpawnerBackends

/// The real application built by `buildApplication` and run in this process, for what only
/// code can configure (the failure-injection hook). Its runnerd children are real.
final class InProcessSpawner: @unchecked Sendable {
    let config: SpawnerConfig
    let group: ServiceGroup
    let running: Task<Void, any Error>
    let port: Int
    let scratch: String

    var dataDir: String { config.dataDir }
    var client: SpawnerClient { SpawnerClient(baseURL: "http://127.0.0.1:\(port)", secret: config.secret) }
    var runnerdProcesses: [Int32] { ProcessScan.processes(mentioning: dataDir + "/sessions/") }
    var sessionDirectories: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: dataDir + "/sessions")) ?? []).sorted() }

    static let logger = Logger(label: "spawner-in-process") { _ in SwiftLogNoOpLogHandler() }

    /// `backend` replaces the configured one (a fake runnerd's, say).
    init(backend: (any SessionBackend)? = nil, configure: (inout SpawnerConfig) -> Void) async throws {
        scratch = TestPaths.makeTempDir("spawner-inproc")
        var config = SpawnerConfig(secret: Array(TestPaths.makeSecret().utf8), dataDir: scratch + "/data", runnerdPath: TestPaths.runnerd)
        config.listenHost = "127.0.0.1"
        config.listenPort = 0
        config.readyFile = scratch + "/ready.json"
        config.readyTimeoutMs = 60_000
        config.runnerdKillGraceMs = 1_000
        configure(&config)
        self.config = config
        let components =
            if let backend { try SpawnerComponents(config: config, backend: backend, logger: Self.logger) } else {
                try SpawnerComponents(config: config, logger: Self.logger)
            }
        let group = ServiceGroup(configuration: .init(services: [buildApplication(components)], logger: Self.logger))
        self.group = group
        running = Task { try await group.run() }

        let readyFile = config.readyFile!
        let deadline = ContinuousClock.now + .seconds(60)
        var port: Int?
        while port == nil && ContinuousClock.now < deadline {
            if let data = FileManager.default.contents(atPath: readyFile),
                let announcement = try? WireJSON.decode(ListenAnnouncement.self, from: Array(data))
            {
                port = announcement.port
            } else {
                try await Task.sleep(for: .milliseconds(10))
            }
        }
        guard let port else {
            await group.triggerGracefulShutdown()
            throw WaitTimeout(what: "the in-process spawner to listen")
        }
        self.port = port
    }

    /// Stops the app, kills any runnerd left and removes the scratch directory; returns what leaked.
    @discardableResult
    func tearDown() async -> [Int32] {
        if let sessions = try? await client.listSessions() {
            for session in sessions { try? await client.deleteSession(session.sessionId) }
        }
        await group.triggerGracefulShutdown()
        _ = try? await running.value
        let leaked = runnerdProcesses
        for pid in leaked { kill(pid, SIGKILL) }
        TestPaths.remove(scratch)
        return leaked
    }
}
