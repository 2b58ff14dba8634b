import AsyncHTTPClient
import Logging
import NIOCore
import RunnerProtocol
import ServiceLifecycle

/// The spawner's parts, built from a configuration: the backend, the registry, metrics, the
/// signer and the HTTP client that talks to every runnerd.
public struct SpawnerComponents: Sendable {
    public static let version = "0.1.0"

    public let config: SpawnerConfig
    public let backend: any SessionBackend
    public let registry: SessionRegistry
    public let metrics: SpawnerMetrics
    public let signer: HMACSigner
    public let httpClient: HTTPClient
    /// The client connections' cap.
    let connections: ConnectionGovernor
    /// The signatures accepted (headers and pre-signed URLs alike): each works once.
    let replays: ReplayCache
    let lock: DataDirLock
    let logger: Logger

    /// Takes the data directory's lock (throws if another spawner holds it) and builds the
    /// backend `config.backend` describes. Call `shutdown()` unless the app's services do
    /// (`buildApplication`).
    public init(config: SpawnerConfig, logger: Logger) throws {
        // The lock first: a backend made and then dropped would leak its HTTP client.
        let lock = try DataDirLock(dataDir: config.dataDir)
        let httpClient = Self.makeHTTPClient()
        do {
            let backend = try config.backend.makeBackend(config: config, httpClient: httpClient, logger: logger)
            self.init(config: config, backend: backend, lock: lock, httpClient: httpClient, logger: logger)
        } catch {
            try? httpClient.syncShutdown()
            throw error
        }
    }

    /// With any backend.
    public init(config: SpawnerConfig, backend: any SessionBackend, logger: Logger) throws {
        self.init(config: config, backend: backend, lock: try DataDirLock(dataDir: config.dataDir), httpClient: Self.makeHTTPClient(), logger: logger)
    }

    private init(config: SpawnerConfig, backend: any SessionBackend, lock: DataDirLock, httpClient: HTTPClient, logger: Logger) {
        self.config = config
        self.logger = logger
        self.lock = lock
        self.backend = backend
        self.signer = HMACSigner(secret: config.secret)
        self.metrics = SpawnerMetrics(backend: backend.name)
        self.connections = ConnectionGovernor(limit: config.connections.maxConnections, metrics: metrics)
        self.replays = ReplayCache(capacity: config.connections.replayCacheEntries)
        self.httpClient = httpClient
        var settings = SessionRegistry.Settings(
            caps: config.caps, readyTimeout: .milliseconds(config.readyTimeoutMs), defaultTTLMs: config.defaultTTLMs,
            defaultIdleTimeoutMs: config.defaultIdleTimeoutMs, faults: config.faults)
        settings.adoptionProbe.adoptUnprovenLegacy = config.adoptUnprovenLegacy
        settings.agentUIDs = config.agentUIDs
        self.registry = SessionRegistry(
            backend: backend,
            settings: settings,
            signer: signer, httpClient: httpClient, metrics: metrics, logger: logger)
    }

    /// The client for every runnerd (and the docker backend's engine socket).
    static func makeHTTPClient() -> HTTPClient {
        var clientConfiguration = HTTPClient.Configuration(
            timeout: .init(connect: .seconds(5)),
            // Each exec or attach stream holds a connection to its session's runnerd.
            connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 256))
        clientConfiguration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: clientConfiguration)
    }

    /// The long-running pieces besides the HTTP server, in start order.
    var services: [any Service] {
        [HTTPClientService(client: httpClient, lock: lock)] + backend.services
            + [SessionSweeper(registry: registry, interval: .milliseconds(config.sweepIntervalMs), logger: logger)]
    }

    /// Releases the HTTP client (for components never run as an app).
    public func shutdown() async throws {
        try await httpClient.shutdown()
    }
}

/// Keeps the runnerd HTTP client (and the data directory lock) for the life of the app and
/// shuts the client down once the server has stopped.
struct HTTPClientService: Service {
    let client: HTTPClient
    let lock: DataDirLock

    func run() async throws {
        try? await gracefulShutdown()
        try await client.shutdown()
        withExtendedLifetime(lock) {}
    }
}
