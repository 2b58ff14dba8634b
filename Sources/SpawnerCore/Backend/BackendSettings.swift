import AsyncHTTPClient
import Logging

/// A backend's settings: what `SPAWNER_BACKEND` names, read from the environment, and the
/// maker of the backend. Each backend module has one; `SpawnerBackends.all` lists them.
public protocol BackendSettings: Sendable {
    /// The `SPAWNER_BACKEND` value that selects this backend.
    static var name: String { get }

    /// Reads the backend's variables; `readFile` reads the files they name (profiles, kubeconfig), `secret` is the spawner's HMAC secret. Throws `SpawnerConfig.Invalid`.
    static func resolve(environment: [String: String], secret: [UInt8], readFile: (String) throws -> [UInt8]) throws -> Self

    /// Makes the backend. `httpClient` is the spawner's runnerd client (the docker backend
    /// also uses it for the engine's socket).
    func makeBackend(config: SpawnerConfig, httpClient: HTTPClient, logger: Logger) throws -> any SessionBackend
}

extension BackendSettings {
    /// `resolve` of this type, as an existential (what `SpawnerConfig.resolve` holds).
    static func resolved(environment: [String: String], secret: [UInt8], readFile: (String) throws -> [UInt8]) throws -> any BackendSettings {
        try resolve(environment: environment, secret: secret, readFile: readFile)
    }
}
