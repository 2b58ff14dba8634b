import Glibc
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import RunnerProtocol
import SystemSupport

/// The spawner's router: `/healthz` and `/metrics` open, everything under `/v1` behind the
/// HMAC signature middleware (checked on the head first: `SignatureMiddleware`); errors become
/// JSON in one place (`ErrorMiddleware`).
public func buildRouter(_ components: SpawnerComponents) -> Router<SpawnerRequestContext> {
    let router = Router(context: SpawnerRequestContext.self)
    router.add(middleware: LatencyMiddleware(metrics: components.metrics))
    router.add(middleware: ErrorMiddleware())
    OpsRoutes(registry: components.registry, metrics: components.metrics, version: SpawnerComponents.version).register(on: router)

    let limits = components.config.connections
    let signature = SignatureMiddleware(
        signer: components.signer, bodies: BodyBudget(limit: limits.pendingBodyBytes), bodyTimeout: .milliseconds(limits.bodyTimeoutMs))
    let v1 = router.group("/v1").add(middleware: signature)
    let forwarder = RunnerdForwarder(registry: components.registry, metrics: components.metrics)
    SessionRoutes(registry: components.registry).register(on: v1)
    ExecRoutes(forwarder: forwarder).register(on: v1)
    FileRoutes(forwarder: forwarder).register(on: v1)
    InteractiveRoutes(forwarder: forwarder).register(on: v1)
    terminalEndpoint(components).register(on: router)
    WebTerminalRoutes(xtermDirectory: components.config.xtermDirectory).register(on: router)
    return router
}

/// The terminal WebSocket endpoint of these components.
func terminalEndpoint(_ components: SpawnerComponents) -> TerminalEndpoint {
    TerminalEndpoint(registry: components.registry, signer: components.signer, now: { Syscall.nowMs() })
}

/// The spawner as a Hummingbird application: at most `maxConnections` client connections
/// (`ConnectionGovernor`), idle ones closed (`ConnectionLimits`), the terminal's WebSocket
/// upgrade; re-adopts the backend's live sessions before it serves, writes `{host, port, pid}` to the ready file once listening, and runs the
/// sweeper, the reaper and the runnerd client as services of its group.
public func buildApplication(_ components: SpawnerComponents) -> some ApplicationProtocol {
    let config = components.config
    let logger = components.logger
    let limits = config.connections
    let terminal = terminalEndpoint(components)
    var app = Application(
        router: buildRouter(components),
        // HTTP/1.1, and the terminal's WebSocket upgrade (`TerminalEndpoint`), with the
        // connection policy from the first byte (`GuardedChildChannel`).
        server: HTTPServerBuilder { responder in
            GuardedChildChannel(
                inner: HTTP1WebSocketUpgradeChannel(
                    responder: responder,
                    configuration: .init(
                        http1: .init(
                            additionalChannelHandlers: [GovernedConnectionHandler(governor: components.connections)],
                            idleTimeout: .milliseconds(limits.idleTimeoutMs)),
                        ws: .init(maxFrameSize: TerminalBridge.maxMessageBytes)),
                    shouldUpgrade: { request, _, logger in await terminal.shouldUpgrade(request, logger: logger) }),
                governor: components.connections, headTimeout: .milliseconds(limits.idleTimeoutMs))
        },
        configuration: .init(address: .hostname(config.listenHost, port: config.listenPort), serverName: "spawner"),
        services: components.services,
        onServerRunning: { channel in
            let port = channel.localAddress?.port ?? config.listenPort
            logger.info("spawner listening", metadata: [
                "address": "\(config.listenHost):\(port)", "dataDir": "\(config.dataDir)", "backend": "\(components.backend.name)",
            ])
            guard let readyFile = config.readyFile else { return }
            do {
                let announcement = ListenAnnouncement(host: config.listenHost, port: port, pid: Syscall.currentPID)
                try Syscall.writeFileAtomically(readyFile, try WireJSON.encode(announcement))
            } catch {
                logger.error("cannot write the ready file", metadata: ["path": "\(readyFile)", "error": "\(error)"])
            }
        },
        logger: logger)
    app.beforeServerStarts {
        try await components.registry.adopt()
        let adopted = await components.registry.count
        logger.info("sessions adopted", metadata: ["count": "\(adopted)"])
    }
    return app
}
