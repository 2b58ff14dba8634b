import AsyncHTTPClient
import ServiceLifecycle
import SpawnerCore

/// Shuts the API server's HTTP client down once the app stops.
struct KubernetesClientService: Service {
    let client: HTTPClient

    func run() async throws {
        try? await gracefulShutdown()
        try await client.shutdown()
    }
}
