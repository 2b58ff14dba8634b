import Logging
import SpawnerCore
import SpawnerBackends

/// The routes the spawner's router registers, as `METHOD /pattern` (`/v1/sessions/{sid}`),
/// read off the real router built from a default configuration.
func registeredRoutes() async throws -> Set<String> {
    let scratch = TestPaths.makeTempDir("spawner-routes")
    defer { TestPaths.remove(scratch) }
    let config = SpawnerConfig(secret: Array(TestPaths.makeSecret().utf8), dataDir: scratch + "/data", runnerdPath: TestPaths.runnerd)
    let components = try SpawnerComponents(config: config, logger: Logger(label: "routes") { _ in SwiftLogNoOpLogHandler() })
    let routes = Set(buildRouter(components).routes.map { "\($0.method.rawValue) \($0.path.description)" })
    try await components.shutdown()
    return routes
}
