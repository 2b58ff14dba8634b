import AsyncHTTPClient
import Logging
import SpawnerCore

extension KubernetesSettings: BackendSettings {
    public static let name = "kubernetes"

    /// `resolve(environment:readFile:)`, its errors as the spawner's configuration errors.
    public static func resolve(
        environment: [String: String], secret: [UInt8], readFile: (String) throws -> [UInt8]
    ) throws(SpawnerConfig.Invalid) -> KubernetesSettings {
        do {
            return try resolve(environment: environment, readFile: readFile)
        } catch {
            throw SpawnerConfig.Invalid("kubernetes backend: \(error)")
        }
    }

    /// The kubernetes backend makes its own HTTP client (TLS to the API server).
    public func makeBackend(config: SpawnerConfig, httpClient: HTTPClient, logger: Logger) throws -> any SessionBackend {
        KubernetesBackend(
            settings: self, runnerdKillGraceMs: config.runnerdKillGraceMs, runnerdLogLevel: config.runnerdLogLevel,
            faults: config.faults, logger: logger)
    }
}
