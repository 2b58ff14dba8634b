import SpawnerCore
import SpawnerDocker
import SpawnerKubernetes
import SpawnerLocal

/// Every backend `SPAWNER_BACKEND` can name. A new backend is a module with a `SessionBackend`
/// and its `BackendSettings`, and one line here.
public enum SpawnerBackends {
    public static let all: [any BackendSettings.Type] = [
        LocalSettings.self,
        DockerSettings.self,
        KubernetesSettings.self,
    ]
}

extension SpawnerConfig {
    /// `resolve(environment:flags:defaults:backends:readFile:)` with every backend.
    public static func resolve(
        environment: [String: String], flags: Flags, defaults: Defaults, readFile: (String) throws -> [UInt8]
    ) throws -> SpawnerConfig {
        try resolve(environment: environment, flags: flags, defaults: defaults, backends: SpawnerBackends.all, readFile: readFile)
    }
}

extension SpawnerConfig {
    /// A configuration of the local backend (the default).
    public init(secret: [UInt8], dataDir: String, runnerdPath: String) {
        self.init(secret: secret, dataDir: dataDir, runnerdPath: runnerdPath, backend: LocalSettings())
    }
}
