import AsyncHTTPClient
import Logging

/// Builds the backend `SPAWNER_BACKEND` selects, from the configuration.
enum BackendFactory {
    /// `httpClient` is the spawner's runnerd client, which the docker backend also uses for the
    /// engine's socket; the kubernetes backend makes its own (TLS to the API server).
    static func make(_ config: SpawnerConfig, httpClient: HTTPClient, logger: Logger) throws -> any SessionBackend {
        switch config.backend {
        case .local:
            return try LocalBackend(
                dataDir: config.dataDir, runnerdPath: config.runnerdPath, runnerdKillGraceMs: config.runnerdKillGraceMs,
                runnerdLogLevel: config.runnerdLogLevel, faults: config.faults, logger: logger)
        case .docker:
            guard let docker = config.docker else { throw SpawnerConfig.Invalid("SPAWNER_BACKEND=docker without docker settings") }
            return DockerBackend(
                settings: docker, httpClient: httpClient, runnerdKillGraceMs: config.runnerdKillGraceMs,
                runnerdLogLevel: config.runnerdLogLevel, faults: config.faults, logger: logger)
        case .kubernetes:
            guard let kubernetes = config.kubernetes else { throw SpawnerConfig.Invalid("SPAWNER_BACKEND=kubernetes without kubernetes settings") }
            return KubernetesBackend(
                settings: kubernetes, runnerdKillGraceMs: config.runnerdKillGraceMs, runnerdLogLevel: config.runnerdLogLevel,
                faults: config.faults, logger: logger)
        }
    }
}
