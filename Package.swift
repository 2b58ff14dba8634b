// swift-tools-version:6.2
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "runnerd",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "runnerd", targets: ["Runnerd"]),
        .executable(name: "spawner", targets: ["Spawner"]),
        .executable(name: "runnerd-bench", targets: ["RunnerdBench"]),
        .library(name: "RunnerProtocol", targets: ["RunnerProtocol"]),
        .library(name: "RunnerdClient", targets: ["RunnerdClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.34.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    ],
    targets: [
        // Every wire type, event, error code, limit and the HMAC signing code, shared by
        // runnerd, the spawner and their clients.
        .target(
            name: "RunnerProtocol",
            dependencies: [
                "CBase64",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Sources/Protocol",
            swiftSettings: strict
        ),
        // The handful of libc entry points Swift's Glibc module does not expose (prefix `cshim_`;
        // only SystemSupport imports it).
        .target(name: "CRunnerdShim", path: "Sources/CRunnerdShim"),
        // The vector base64 encoder RunnerProtocol.Base64 hands whole blocks to (SSSE3 on x86-64).
        .target(name: "CBase64", path: "Sources/CBase64"),
        // What runnerd and the spawner share below the wire level: the one thin wrapper over
        // libc (syscalls with EINTR retry and errno errors, posix_spawn, wait statuses), listen
        // addresses and the stderr logging setup.
        .target(
            name: "SystemSupport",
            dependencies: ["CRunnerdShim", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        // runnerd's engine: OS layer, exec supervisor, event log, HTTP server.
        .target(
            name: "RunnerdCore",
            dependencies: [
                "RunnerProtocol",
                "SystemSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strict
        ),
        // The exec shim (Sources/RunnerdExecShim, C: hardening between posix_spawn and the
        // agent's exec) is no SwiftPM target: `scripts/build-shim` builds it, static-pie, for the
        // images, the benchmark and the tests alike (scripts/test-prereqs/exec-shim.sh puts it
        // next to the debug runnerd), so the tests run the binary that ships.
        .executableTarget(
            name: "Runnerd",
            dependencies: [
                "RunnerdCore",
                "SystemSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        // An HTTP client for runnerd's API (NDJSON exec streams included), used by the
        // spawner's proxy, the benchmark and the tests.
        .target(
            name: "RunnerdClient",
            dependencies: [
                "RunnerProtocol",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // The spawner's service: HMAC-authenticated session API (Hummingbird), registry,
        // backends, SSE exec proxy, sweeper, caps and metrics.
        .target(
            name: "SpawnerCore",
            dependencies: [
                "RunnerProtocol",
                "RunnerdClient",
                "SystemSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                // The connection policy wraps the server's child channel (`ServerChildChannel`).
                .product(name: "HummingbirdCore", package: "hummingbird"),
                // The exec-stream relay (a NIO client channel to runnerd writing straight into
                // the client's channel) and the connection cap see `HTTPResponsePart`s.
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            // The web terminal page, built into the binary.
            resources: [.embedInCode("WebTerminal/terminal.html")],
            swiftSettings: strict
        ),
        // The backends, one module each behind SpawnerCore's `SessionBackend` and `BackendSettings`.
        // local: runnerd child processes of the spawner (the embedded default).
        .target(
            name: "SpawnerLocal",
            dependencies: [
                "SpawnerCore",
                "RunnerProtocol",
                "SystemSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // docker: a container per session through the Docker Engine API (a local Unix socket).
        .target(
            name: "SpawnerDocker",
            dependencies: [
                "SpawnerCore",
                "RunnerProtocol",
                "SystemSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // kubernetes: a Pod per session through the API server: TLS (cluster CA, client
        // certificates) and kubeconfig files are this backend's alone.
        .target(
            name: "SpawnerKubernetes",
            dependencies: [
                "SpawnerCore",
                "RunnerProtocol",
                "RunnerdClient",
                "SystemSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strict
        ),
        // The list of backends `SPAWNER_BACKEND` may name (the only module that sees them all).
        .target(
            name: "SpawnerBackends",
            dependencies: ["SpawnerCore", "SpawnerLocal", "SpawnerDocker", "SpawnerKubernetes"],
            swiftSettings: strict
        ),
        // A client of the spawner API (signs requests; the terminal WebSocket), used by the CLI,
        // the tests and the benchmark.
        .target(
            name: "SpawnerClient",
            dependencies: [
                "RunnerProtocol",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "Spawner",
            dependencies: [
                "RunnerProtocol",
                "SpawnerCore",
                "SpawnerBackends",
                "SpawnerLocal",
                "SpawnerClient",
                "SystemSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "RunnerdBench",
            dependencies: [
                "RunnerProtocol",
                "RunnerdClient",
                "SpawnerClient",
                "RunnerdCore",
                "SystemSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // What the test targets share: a seeded generator, blocking work run off the pool, raw
        // HTTP over loopback (RawConnection, WireHTTP), fuzz input and runnerd's request parts
        // (runnerd's and the spawner's fuzz tests), connection-flood helpers, child processes
        // started with SystemSupport's posix_spawn.
        .target(name: "TestSupport", dependencies: ["SystemSupport"], path: "Tests/TestSupport", swiftSettings: strict),
        .testTarget(
            name: "RunnerProtocolTests",
            dependencies: ["RunnerProtocol", "TestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "RunnerdCoreTests",
            dependencies: ["RunnerdCore", "RunnerProtocol", "SystemSupport", "TestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "RunnerdTests",
            dependencies: [
                "RunnerdCore",
                "RunnerdClient",
                "RunnerProtocol",
                "Runnerd",
                "TestSupport",
                // runnerd's stages run in process (`InProcessTests`).
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SpawnerTests",
            dependencies: [
                "SpawnerCore",
                "SpawnerBackends",
                "SpawnerLocal",
                "SpawnerDocker",
                "SpawnerKubernetes",
                "SpawnerClient",
                "TestSupport",
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                "RunnerProtocol",
                "RunnerdClient",
                "Spawner",
                "Runnerd",
                // NIO handlers on their own (`EmbeddedChannel`): the relay, the parse-error handler.
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                // The Kubernetes API double: a TLS server with a CA made in the test.
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strict
        ),
    ]
)
