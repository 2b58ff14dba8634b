import AsyncHTTPClient
import Logging
import SpawnerCore

/// The local backend's settings (`SPAWNER_BACKEND=local`, the default). It has no variables
/// of its own: it runs `SpawnerConfig.runnerdPath` under `SpawnerConfig.dataDir`.
public struct LocalSettings: BackendSettings, Equatable {
    public static let name = "local"

    public init() {}

    public static func resolve(
        environment: [String: String], secret: [UInt8], readFile: (String) throws -> [UInt8]
    ) throws(SpawnerConfig.Invalid) -> LocalSettings {
        LocalSettings()
    }

    public func makeBackend(config: SpawnerConfig, httpClient: HTTPClient, logger: Logger) throws -> any SessionBackend {
        try LocalBackend(
            dataDir: config.dataDir, runnerdPath: config.runnerdPath, runnerdKillGraceMs: config.runnerdKillGraceMs,
            runnerdLogLevel: config.runnerdLogLevel, faults: config.faults, logger: logger)
    }
}
