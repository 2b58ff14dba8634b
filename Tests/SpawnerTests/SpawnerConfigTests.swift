import SystemSupport
import NIOCore
import RunnerProtocol
import SpawnerClient
@testable import SpawnerCore
import SpawnerBackends
import Testing

/// Configuration: secret sources, environment and flags, listen addresses.
struct NoSuchFile: Error {
    let path: String
}

@Suite(.timeLimit(.minutes(1))) struct SpawnerConfigTests {
    static let defaults = SpawnerConfig.Defaults(dataDir: "/d", runnerdPath: "/bin/runnerd")
    static let secret = String(repeating: "s", count: 32)

    static func resolve(_ environment: [String: String], flags: SpawnerConfig.Flags = .init(), files: [String: String] = [:]) throws -> SpawnerConfig {
        try SpawnerConfig.resolve(environment: environment, flags: flags, defaults: defaults) { path in
            guard let text = files[path] else { throw NoSuchFile(path: path) }
            return Array(text.utf8)
        }
    }

    @Test func refusesToStartWithoutASecretOfThirtyTwoBytes() {
        #expect(throws: SpawnerConfig.Invalid.self) { try Self.resolve([:]) }
        #expect(throws: SpawnerConfig.Invalid.self) { try Self.resolve(["SPAWNER_SECRET": String(repeating: "s", count: 31)]) }
        #expect(throws: SpawnerConfig.Invalid.self) { try Self.resolve(["SPAWNER_SECRET_FILE": "/missing"]) }
    }

    @Test func secretFileWinsAndLoosesItsLineEnd() throws {
        let fromFile = String(repeating: "f", count: 40)
        let config = try Self.resolve(
            ["SPAWNER_SECRET": Self.secret, "SPAWNER_SECRET_FILE": "/s"], files: ["/s": fromFile + "\n"])
        #expect(config.secret == Array(fromFile.utf8))
        var flags = SpawnerConfig.Flags()
        flags.secretFile = "/flag"
        let flagged = try Self.resolve(["SPAWNER_SECRET_FILE": "/s"], flags: flags, files: ["/s": fromFile, "/flag": Self.secret + "\r\n"])
        #expect(flagged.secret == Array(Self.secret.utf8))
    }

    @Test func defaultsEnvironmentAndFlags() throws {
        let plain = try Self.resolve(["SPAWNER_SECRET": Self.secret])
        #expect(plain.listenHost == "0.0.0.0" && plain.listenPort == 8080)
        #expect(plain.dataDir == "/d" && plain.runnerdPath == "/bin/runnerd")
        #expect(plain.caps == SessionCaps())

        var flags = SpawnerConfig.Flags()
        flags.listen = "127.0.0.1:0"
        flags.maxSessions = 3
        let config = try Self.resolve(
            [
                "SPAWNER_SECRET": Self.secret, "SPAWNER_LISTEN": "[::1]:9000", "SPAWNER_MAX_SESSIONS": "10",
                "SPAWNER_MAX_SESSIONS_PER_ORG": "4", "SPAWNER_MAX_SESSIONS_PER_OWNER": "2", "SPAWNER_READY_TIMEOUT_MS": "2500",
                "SPAWNER_DATA_DIR": "/var/x", "SPAWNER_RUNNERD_PATH": "/opt/runnerd",
            ], flags: flags)
        #expect(config.listenHost == "127.0.0.1" && config.listenPort == 0)
        #expect(config.caps == SessionCaps(total: 3, perOrg: 4, perOwner: 2))
        #expect(config.readyTimeoutMs == 2500)
        #expect(config.dataDir == "/var/x" && config.runnerdPath == "/opt/runnerd")
        #expect(throws: SpawnerConfig.Invalid.self) { try Self.resolve(["SPAWNER_SECRET": Self.secret, "SPAWNER_MAX_SESSIONS": "many"]) }
        #expect(throws: SpawnerConfig.Invalid.self) { try Self.resolve(["SPAWNER_SECRET": Self.secret, "SPAWNER_LISTEN": "nohost"]) }
    }

    @Test func listenAddresses() {
        #expect(ListenAddress("127.0.0.1:8080") == ListenAddress("127.0.0.1:8080"))
        #expect(ListenAddress(":9")?.host == "0.0.0.0")
        #expect(ListenAddress("[::]:80")?.host == "::")
        #expect(ListenAddress("host:70000") == nil)
        #expect(ListenAddress("host") == nil)
    }
}
