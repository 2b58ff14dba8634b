import Testing

/// Every test that needs the Docker engine, one at a time (they share the engine, its sandbox
/// network and the machine's two cores); they run beside the other suites. Skipped, with the
/// reason, when no engine answers, except in CI, where they fail instead.
@Suite(.serialized, .enabled(if: DockerTestEnvironment.enabled, Comment(rawValue: DockerTestEnvironment.skipReason)))
enum DockerSuites {}
