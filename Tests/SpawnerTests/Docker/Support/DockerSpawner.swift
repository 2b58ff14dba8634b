import Foundation
import RunnerProtocol
import SpawnerClient
import Testing

/// The environment of a real `spawner serve` with the docker backend, in a scope of its own
/// (so that tests running side by side never see each other's sandboxes).
enum DockerSpawner {
    static func environment(scope: String, extra: [String: String] = [:]) -> [String: String] {
        var environment = [
            "SPAWNER_BACKEND": "docker",
            "SPAWNER_DOCKER_SCOPE": scope,
            "SPAWNER_DOCKER_NETWORK": DockerTestEnvironment.network,
            "SPAWNER_DOCKER_IMAGE": DockerTestEnvironment.sandboxImage,
            "SPAWNER_DOCKER_SELF": "none",
        ]
        for (key, value) in extra { environment[key] = value }
        return environment
    }

    static func newScope(_ name: String) -> String {
        "test-\(name)-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
    }
}

/// Runs `body` with a fresh docker-backed spawner and tears it down: every session deleted,
/// and nothing of its scope may be left on the engine afterwards.
@discardableResult
func withDockerSpawner<T>(
    _ name: String, environment: [String: String] = [:], sourceLocation: SourceLocation = #_sourceLocation,
    _ body: (SpawnerProcess, String) async throws -> T
) async throws -> T {
    try DockerTestEnvironment.require(sourceLocation: sourceLocation)
    let scope = DockerSpawner.newScope(name)
    defer { DockerCLI.removeAll(scope: scope) }
    let result = try await withSpawner(environment: DockerSpawner.environment(scope: scope, extra: environment), sourceLocation: sourceLocation) {
        try await body($0, scope)
    }
    #expect(await DockerCLI.leftovers(scope: scope) == [], "left on the engine after the sessions were deleted", sourceLocation: sourceLocation)
    return result
}

extension SpawnerClient {
    /// A session with a chosen profile (and image).
    func createSandbox(_ sessionId: String, profile: String? = nil, image: String? = nil, env: [String: String]? = nil) async throws -> SessionInfo {
        try await createSession(
            CreateSessionRequest(
                sessionId: sessionId, owner: SessionOwner(kind: "user", id: "alice"), orgId: "org-a", profile: profile, image: image, env: env,
                idleTimeoutMs: 0))
    }
}
