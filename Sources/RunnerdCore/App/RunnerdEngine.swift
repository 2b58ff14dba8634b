import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import RunnerProtocol
import SystemSupport

/// Stage two of runnerd's start: the core, on one event loop — the exec supervisor, the
/// router, the connection limiter, the journal they recover from, the metrics and the thread
/// pools for blocking work. `bind` (stage three) serves it; `shutdown` (stage four) drains it.
public final class RunnerdEngine: Sendable {
    /// What lives on the loop: touch it only there (`NIOLoopBound`).
    struct Confined {
        let supervisor: ExecSupervisor
        let router: RunnerdRouter
        let connections: ConnectionLimiter
    }

    public let group: MultiThreadedEventLoopGroup
    public let loop: any EventLoop
    let confined: NIOLoopBound<Confined>
    let authenticator: Authenticator
    let metrics: RunnerdMetrics
    /// The files API, the process table and URL fetches.
    let threadPool: NIOThreadPool
    /// Waits for the exec shim's report after each spawn (`ProcessLauncher`), off the loop.
    let launchPool: NIOThreadPool
    let reaper: ProcessReaper
    let logger: Logger

    private init(
        group: MultiThreadedEventLoopGroup, confined: NIOLoopBound<Confined>, authenticator: Authenticator, metrics: RunnerdMetrics,
        threadPool: NIOThreadPool, launchPool: NIOThreadPool, reaper: ProcessReaper, logger: Logger
    ) {
        self.group = group
        self.loop = confined.eventLoop
        self.confined = confined
        self.authenticator = authenticator
        self.metrics = metrics
        self.threadPool = threadPool
        self.launchPool = launchPool
        self.reaper = reaper
        self.logger = logger
    }

    /// `network`: the network policy installed at boot, if any, for `/healthz`.
    public static func make(
        host: RunnerdHost, config: RunnerdConfig, network: Confinement.Network? = nil, logger: Logger
    ) throws -> RunnerdEngine {
        let hardening = host.hardening
        let settings = ExecSupervisor.Settings(
            maxLiveExecs: config.maxLiveExecs, retainFinished: config.retainFinished,
            killGrace: .milliseconds(config.killGraceMs), shellPrefix: shellPrefix(),
            baseEnvironment: host.baseEnvironment, hardening: hardening)
        // One event loop: runnerd's work is I/O multiplexing, and one loop keeps every piece of
        // exec state single-threaded with no locks on the streaming path.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let metrics = RunnerdMetrics()
        let authenticator = Authenticator(token: config.token)
        let reaper = ProcessReaper()
        let connectionSettings = ConnectionLimiter.Settings(
            maxConnections: connectionCap(config, logger: logger), idleTimeout: .milliseconds(config.idleTimeoutMs))
        let threadPool = NIOThreadPool(numberOfThreads: 2)
        threadPool.start()
        let launchPool = NIOThreadPool(numberOfThreads: 2)
        launchPool.start()
        let files = WorkspaceFiles(
            workspace: host.workspace,
            owner: hardening.switchesUser ? .init(uid: hardening.agentUID, gid: hardening.agentGID) : nil,
            fetcher: URLFetcher(hardening: hardening, reaper: reaper, environment: host.baseEnvironment),
            threadPool: threadPool)
        let version = RunnerdServer.version
        let stateDir = host.stateDir
        let stateFD = host.stateFD
        let workspace = host.workspace
        let envStore = host.envStore
        let confined: NIOLoopBound<Confined>
        do {
            confined = try loop.submit {
                // The journal never stops a boot: without it, execs are kept in memory only.
                let journal: ExecJournal?
                do {
                    journal = try ExecJournal(stateDirectory: stateFD, logger: logger)
                } catch {
                    logger.error("journal unavailable; execs are not kept across a restart", metadata: ["stateDir": "\(stateDir)", "error": "\(error)"])
                    journal = nil
                }
                let recovered = journal?.recoverAll() ?? []
                if !recovered.isEmpty {
                    let lost = recovered.filter { $0.record.exit?.lost == true }.count
                    logger.info("journal recovered", metadata: ["execs": "\(recovered.count)", "lost": "\(lost)", "stateDir": "\(stateDir)"])
                }
                let supervisor = ExecSupervisor(
                    loop: loop, workspace: workspace, settings: settings, envStore: envStore,
                    launcher: ProcessLauncher(hardening: hardening, reaper: reaper, statusPool: launchPool), journal: journal,
                    metrics: metrics, logger: logger)
                let router = RunnerdRouter(
                    supervisor: supervisor, version: version, metrics: metrics, files: files, threadPool: threadPool, authenticator: authenticator,
                    network: network)
                let connections = ConnectionLimiter(settings: connectionSettings, loop: loop, metrics: metrics)
                connections.start()
                return NIOLoopBound(Confined(supervisor: supervisor, router: router, connections: connections), eventLoop: loop)
            }.wait()
        } catch {
            try? group.syncShutdownGracefully()
            try? threadPool.syncShutdownGracefully()
            try? launchPool.syncShutdownGracefully()
            throw error
        }
        return RunnerdEngine(
            group: group, confined: confined, authenticator: authenticator, metrics: metrics,
            threadPool: threadPool, launchPool: launchPool, reaper: reaper, logger: logger)
    }

    /// Reaps runnerd's children (and, as PID 1 or a subreaper, its orphans) on the loop, from
    /// SIGCHLD through a signalfd: before anything spawns. Only runnerd's own process does
    /// this — it collects every child of the process, whoever started it.
    public func startReaping() throws {
        _ = try ChildExitWatcher.start(on: loop, reaper: reaper, logger: logger).wait()
    }

    /// Stage three: serves HTTP on `host:port` (port 0 picks one); the listening channel.
    public func bind(host: String, port: Int) throws -> any Channel {
        let confined = self.confined
        let authenticator = self.authenticator
        let metrics = self.metrics
        return try ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: 256 << 10, high: 1 << 20))
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let connections = confined.value.connections
                    let handler = RunnerdHTTPHandler(router: confined.value.router, authenticator: authenticator, metrics: metrics, connections: connections)
                    guard connections.admit(handler) else {
                        channel.close(promise: nil)
                        return
                    }
                    let sync = channel.pipeline.syncOperations
                    try sync.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: true)
                    try sync.addHandler(handler)
                }
            }
            .bind(host: host, port: port)
            .wait()
    }

    /// Stage four: refuses new execs, drains the live ones (SIGTERM, SIGKILL after `grace`),
    /// then stops the connection limiter and closes `server`. True when this call started the
    /// shutdown, false when one was already under way.
    public func shutdown(server: any Channel, grace: TimeAmount, reason: String) -> EventLoopFuture<Bool> {
        let confined = self.confined
        let logger = self.logger
        return loop.flatSubmit {
            let supervisor = confined.value.supervisor
            guard !supervisor.isDraining else { return confined.eventLoop.makeSucceededFuture(false) }
            logger.info("shutting down", metadata: ["signal": "\(reason)", "liveExecs": "\(supervisor.liveCount)"])
            return supervisor.drain(grace: grace).flatMap {
                confined.value.connections.stop()
                return server.close()
            }.map { true }
        }
    }

    /// Stops the loop and the pools (after `shutdown`).
    public func close() {
        try? group.syncShutdownGracefully()
        try? threadPool.syncShutdownGracefully()
        try? launchPool.syncShutdownGracefully()
    }

    /// The connection cap: as configured, but within the descriptors this process may open
    /// (leaving room for exec pipes, journal slots and workspace walks).
    static func connectionCap(_ config: RunnerdConfig, logger: Logger) -> Int {
        guard let openFiles = Syscall.openFileLimit() else { return config.maxConnections }
        let fitting = max(16, openFiles - 512)
        if fitting < config.maxConnections {
            logger.warning("connection cap lowered to fit RLIMIT_NOFILE", metadata: [
                "configured": "\(config.maxConnections)", "cap": "\(fitting)", "openFiles": "\(openFiles)",
            ])
            return fitting
        }
        return config.maxConnections
    }

    /// `bash -lc` where bash exists, else `sh -c`.
    static func shellPrefix() -> [String] {
        for bash in ["/bin/bash", "/usr/bin/bash", "/usr/local/bin/bash"] where Syscall.isExecutable(bash) {
            return [bash, "-lc"]
        }
        return ["/bin/sh", "-c"]
    }
}
