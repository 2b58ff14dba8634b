import Logging
import NIOCore
import RunnerProtocol
import SystemSupport

/// runnerd assembled, in named stages: prepare the host (`RunnerdHost`), make the core on one
/// event loop (`RunnerdEngine`), bind the HTTP server, await a termination signal and drain.
/// `run()` serves until SIGTERM/SIGINT/SIGHUP, then drains the execs and returns.
public final class RunnerdServer: Sendable {
    public static let version = "0.1.0"

    private let config: RunnerdConfig
    private let logger: Logger

    public init(config: RunnerdConfig, logger: Logger) {
        self.config = config
        self.logger = logger
    }

    /// Serves until a termination signal has been handled. Call `SignalLoop.blockHandledSignals()`
    /// before anything else in `main`.
    public func run() throws {
        // First, while runnerd has one thread: the sandbox's network policy, then CAP_NET_ADMIN is gone.
        let network = try NetworkConfinement.install(config.network, port: config.listenPort, logger: logger)
        var host = try RunnerdHost.prepare(config, logger: logger)
        defer { host.close() }
        try host.adoptProcess(logger: logger)
        let engine = try RunnerdEngine.make(host: host, config: config, network: network, logger: logger)
        do {
            try engine.startReaping()
            let server = try engine.bind(host: config.listenHost, port: config.listenPort)
            try announce(server, workspace: host.workspace)
            try awaitShutdown(engine, server: server)
        } catch {
            engine.close()
            throw error
        }
        engine.close()
        logger.info("runnerd stopped")
    }

    /// Says where runnerd listens: a log line, and the ready file when one is configured.
    func announce(_ server: any Channel, workspace: Workspace) throws {
        let port = server.localAddress?.port ?? config.listenPort
        logger.info("runnerd listening", metadata: [
            "address": "\(config.listenHost):\(port)", "workspace": "\(workspace.realPath)",
            "auth": "\(config.token == nil ? "disabled" : "token")", "pid": "\(Syscall.processID)",
        ])
        if let readyFile = config.readyFile {
            let announcement = ListenAnnouncement(host: config.listenHost, port: port, pid: Syscall.processID)
            try Syscall.writeFileAtomically(readyFile, try WireJSON.encode(announcement))
        }
    }

    /// Blocks until a termination signal arrived and the engine has drained and closed `server`.
    func awaitShutdown(_ engine: RunnerdEngine, server: any Channel) throws {
        let stopped = engine.loop.makePromise(of: Void.self)
        let grace = TimeAmount.milliseconds(config.killGraceMs)
        let signals = SignalLoop { signal in
            engine.shutdown(server: server, grace: grace, reason: SignalName.name(signal)).whenComplete { result in
                if case .success(false) = result { return }
                stopped.succeed()
            }
        }
        try signals.start()
        try stopped.futureResult.wait()
    }
}
