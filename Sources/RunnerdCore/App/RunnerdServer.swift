import Glibc
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import RunnerProtocol
import SystemSupport

/// runnerd assembled: workspace, supervisor, child reaper, signal thread and the HTTP server, on one event
/// loop. `run()` serves until SIGTERM/SIGINT, then drains the execs and returns.
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
        let reaper = ProcessReaper()
        if getpid() != 1 {
            // Orphans come back to runnerd, as they would to PID 1: a server an exec left
            // running stays in the sandbox's process table (and is reaped here).
            do { try Syscall.becomeChildSubreaper() } catch { logger.warning("not a child subreaper", metadata: ["error": "\(error)"]) }
        }
        for name in RunnerdConfig.secretVariables { Syscall.unsetenv(name) }
        var baseEnvironment = Syscall.environment()

        try Syscall.makeDirectories(config.workspace)
        let stateDir = config.resolvedStateDir
        let stateFD = try StateDirectory.open(stateDir, logger: logger)
        defer { Syscall.close(stateFD) }
        let workspace = try Workspace(path: config.workspace, reserving: stateFD)
        var hardening = try hardeningPolicy()
        if hardening.enabled {
            // Before any agent exists: every one of them inherits the filter.
            do {
                let instructions = try InheritedSeccomp.install(shim: hardening.shimPath)
                hardening.seccompInherited = true
                logger.debug("seccomp filter installed on runnerd", metadata: ["instructions": "\(instructions)"])
            } catch {
                logger.warning("seccomp filter not installed on runnerd; the shim attaches it at each exec", metadata: ["error": "\(error)"])
            }
        }
        if hardening.switchesUser {
            // The agent must be able to write its workspace.
            try Syscall.chown(workspace.realPath, hardening.agentUID, hardening.agentGID)
            // The files API acts under the agent's filesystem uid/gid (`WorkspaceFiles`); root's
            // supplementary groups would still count there, and runnerd needs none.
            try Syscall.clearSupplementaryGroups()
        }
        try hardening.setUpAgentAccount(config: config, home: config.agentHome ?? workspace.realPath)
        hardening.setUpLandlock(config: config, workspace: workspace.realPath, environment: baseEnvironment, logger: logger)
        if hardening.switchesUser {
            // runnerd's HOME (root's) is not the agent's: the agent's home is its workspace,
            // unless RUNNERD_AGENT_HOME names another.
            let home = config.agentHome ?? workspace.realPath
            baseEnvironment = baseEnvironment.filter { !$0.hasPrefix("HOME=") } + ["HOME=\(home)"]
        }
        if !hardening.unapplied.isEmpty {
            logger.warning("exec hardening is partial", metadata: ["notApplied": "\(hardening.unapplied.joined(separator: "; "))"])
        }
        var envStore = EnvStore()
        let denied = try envStore.apply(EnvPatch(set: config.sessionEnv))
        if !denied.isEmpty { logger.warning("RUNNERD_SESSION_ENV names denied", metadata: ["names": "\(denied)"]) }
        let settings = ExecSupervisor.Settings(
            maxLiveExecs: config.maxLiveExecs, retainFinished: config.retainFinished,
            killGrace: .milliseconds(config.killGraceMs), shellPrefix: Self.shellPrefix(),
            baseEnvironment: baseEnvironment, hardening: hardening)

        // One event loop: runnerd's work is I/O multiplexing, and one loop keeps every piece of
        // exec state single-threaded with no locks on the streaming path.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let logger = self.logger
        let version = Self.version
        let authenticator = Authenticator(token: config.token)
        let metrics = RunnerdMetrics()
        let seededEnv = envStore
        let connectionSettings = ConnectionLimiter.Settings(
            maxConnections: connectionCap(), idleTimeout: .milliseconds(config.idleTimeoutMs))
        let threadPool = NIOThreadPool(numberOfThreads: 2)
        threadPool.start()
        let files = WorkspaceFiles(
            workspace: workspace,
            owner: hardening.switchesUser ? .init(uid: hardening.agentUID, gid: hardening.agentGID) : nil,
            fetcher: URLFetcher(hardening: hardening, reaper: reaper, environment: baseEnvironment),
            threadPool: threadPool)
        // Children are reaped on the loop (SIGCHLD through a signalfd), before anything spawns.
        _ = try ChildExitWatcher.start(on: loop, reaper: reaper, logger: logger).wait()
        let core = try loop.submit {
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
                loop: loop, workspace: workspace, settings: settings, envStore: seededEnv, reaper: reaper, journal: journal,
                metrics: metrics, logger: logger)
            let router = RunnerdRouter(supervisor: supervisor, version: version, metrics: metrics, files: files, threadPool: threadPool)
            let connections = ConnectionLimiter(settings: connectionSettings, loop: loop, metrics: metrics)
            connections.start()
            return NIOLoopBound((supervisor, router, connections), eventLoop: loop)
        }.wait()

        let server = try ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: 256 << 10, high: 1 << 20))
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let connections = core.value.2
                    let handler = RunnerdHTTPHandler(router: core.value.1, authenticator: authenticator, metrics: metrics, connections: connections)
                    guard connections.admit(handler) else {
                        channel.close(promise: nil)
                        return
                    }
                    let sync = channel.pipeline.syncOperations
                    try sync.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: true)
                    try sync.addHandler(handler)
                }
            }
            .bind(host: config.listenHost, port: config.listenPort)
            .wait()
        let port = server.localAddress?.port ?? config.listenPort
        logger.info("runnerd listening", metadata: [
            "address": "\(config.listenHost):\(port)", "workspace": "\(workspace.realPath)",
            "auth": "\(config.token == nil ? "disabled" : "token")", "pid": "\(getpid())",
        ])
        if let readyFile = config.readyFile {
            let announcement = ListenAnnouncement(host: config.listenHost, port: port, pid: getpid())
            try Syscall.writeFileAtomically(readyFile, try WireJSON.encode(announcement))
        }

        let stopped = loop.makePromise(of: Void.self)
        let grace = TimeAmount.milliseconds(config.killGraceMs)
        let signals = SignalLoop { signal in
            loop.execute {
                let supervisor = core.value.0
                guard !supervisor.isDraining else { return }
                logger.info("shutting down", metadata: ["signal": "\(SignalName.name(signal))", "liveExecs": "\(supervisor.liveCount)"])
                supervisor.drain(grace: grace)
                    .flatMap {
                        core.value.2.stop()
                        return server.close()
                    }
                    .whenComplete { _ in stopped.succeed() }
            }
        }
        signals.start()
        try stopped.futureResult.wait()
        try? group.syncShutdownGracefully()
        try? threadPool.syncShutdownGracefully()
        logger.info("runnerd stopped")
    }

    /// The connection cap: as configured, but within the descriptors this process may open
    /// (leaving room for exec pipes, journal slots and workspace walks).
    func connectionCap() -> Int {
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

    /// The hardening of this runnerd: the shim must exist when hardening is on.
    func hardeningPolicy() throws -> HardeningPolicy {
        let shim = config.execShim ?? Self.siblingExecutable("runnerd-exec-shim")
        if config.hardening && !Syscall.isExecutable(shim) {
            throw RunnerdConfig.Invalid("exec hardening is on but \(shim) is missing (build it with `bash scripts/build-shim DIR`, set RUNNERD_EXEC_SHIM, or RUNNERD_HARDENING=off)")
        }
        return HardeningPolicy(
            enabled: config.hardening, agentUID: config.agentUID, agentGID: config.agentGID,
            nofile: .init(config.rlimitNofile), nproc: .init(config.rlimitNproc), fsize: .init(config.rlimitFsize),
            shimPath: shim)
    }

    /// A file next to the running runnerd binary.
    static func siblingExecutable(_ name: String) -> String {
        let me = (try? Syscall.realpath("/proc/self/exe")) ?? CommandLine.arguments[0]
        return String(me[..<(me.lastIndex(of: "/") ?? me.startIndex)]) + "/" + name
    }

    /// `bash -lc` where bash exists, else `sh -c`.
    static func shellPrefix() -> [String] {
        for bash in ["/bin/bash", "/usr/bin/bash", "/usr/local/bin/bash"] where Syscall.isExecutable(bash) {
            return [bash, "-lc"]
        }
        return ["/bin/sh", "-c"]
    }
}
