import AsyncHTTPClient
import Logging
import SpawnerCore

extension DockerSettings: BackendSettings {
    public static let name = "docker"

    public func makeBackend(config: SpawnerConfig, httpClient: HTTPClient, logger: Logger) throws -> any SessionBackend {
        DockerBackend(
            settings: self, httpClient: httpClient, runnerdKillGraceMs: config.runnerdKillGraceMs,
            runnerdLogLevel: config.runnerdLogLevel, faults: config.faults, logger: logger)
    }
}
