import Foundation
import Logging
import NIOCore
import RunnerProtocol
import RunnerdClient
import RunnerdCore
import Testing
import TestSupport

/// runnerd's stages composed in the test's own process: the host prepared (nothing
/// process-wide: no subreaper, no seccomp, no reaper — that would collect the children of
/// every other test), the core made, the server bound, and the shutdown stage.
@Suite("runnerd in process", .timeLimit(.minutes(2)))
struct InProcessTests {
    @Test func theStagesServeThenShutDownOnce() async throws {
        var config = RunnerdConfig()
        config.listenHost = "127.0.0.1"
        config.listenPort = 0
        config.workspace = RunnerdProcess.makeTempDir("in-process")
        config.token = Array("in-process-token".utf8)
        config.hardening = false
        let logger = Logger(label: "runnerd-in-process")
        let (host, engine, server) = try await blocking { [config] in
            let host = try RunnerdHost.prepare(config, logger: logger)
            let engine = try RunnerdEngine.make(host: host, config: config, logger: logger)
            return (host, engine, try engine.bind(host: config.listenHost, port: config.listenPort))
        }
        defer {
            engine.close()
            host.close()
        }
        let port = try #require(server.localAddress?.port)
        let client = RunnerdClient(baseURL: "http://127.0.0.1:\(port)", token: "in-process-token")

        let health = try await client.health()
        #expect(health.ok && health.liveExecs == 0 && health.draining == nil, "\(health)")
        // The env store refuses a name the policy denies, as it would out of process.
        #expect(try await client.env(EnvPatch(set: ["LD_PRELOAD": "/x.so"])).denied == ["LD_PRELOAD"])
        // The supervisor answers an exec it cannot start with one `fail` event; nothing is spawned.
        let refused = try await client.run(ExecRequest(execId: "nowhere", command: ["true"], cwd: "no/such/dir"))
        #expect(refused.fail?.code == .invalidCwd, "\(refused.events)")
        #expect(try await client.status("unknown").state == .gone)

        #expect(try await engine.shutdown(server: server, grace: .seconds(1), reason: "test").get() == true)
        #expect(try await engine.shutdown(server: server, grace: .seconds(1), reason: "test").get() == false)
        #expect(!server.isActive)
        // Nothing listens on the port any more: a new connection is refused.
        #expect(throws: (any Error).self) { _ = try RawConnection(port: port) }
    }
}
