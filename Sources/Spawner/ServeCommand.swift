import ArgumentParser
import Hummingbird
import Logging
import ServiceLifecycle
import SpawnerBackends
import SpawnerCore
import SpawnerLocal
import SystemSupport

/// `spawner serve`: the session service.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the session service (SPAWNER_BACKEND: local runnerd children, or docker containers).",
        discussion: """
            Every option also reads the environment variable in its help; a flag wins. The HMAC \
            secret comes from SPAWNER_SECRET or SPAWNER_SECRET_FILE (the file wins) and must have \
            at least 32 bytes; there is deliberately no flag for it (argv is visible to every user).

            Sessions survive a restart: runnerd processes run in their own sessions and are \
            re-adopted from the records in the data directory at the next start (docker: from \
            the sandbox containers' labels). SIGTERM or SIGINT stops the service gracefully and \
            leaves the sessions running.

            SPAWNER_BACKEND=docker runs each session in its own container through the Engine \
            API socket (DOCKER_HOST, SPAWNER_DOCKER_IMAGE, SPAWNER_DOCKER_NETWORK, \
            SPAWNER_DOCKER_ICC, SPAWNER_DOCKER_KEEP_WORKSPACES, SPAWNER_DOCKER_SCOPE, \
            SPAWNER_DOCKER_SELF, SPAWNER_DOCKER_PROFILES for the session profiles: limits, \
            egress; see docs/docker.md).
            """)

    @Option(help: ArgumentHelp("host:port to listen on; port 0 picks one (SPAWNER_LISTEN, default 0.0.0.0:8080).", valueName: "host:port"))
    var listen: String?
    @Option(help: ArgumentHelp("A file holding the HMAC secret (SPAWNER_SECRET_FILE; else SPAWNER_SECRET).", valueName: "path"))
    var secretFile: String?
    @Option(help: ArgumentHelp("Session records, workspaces, runnerd logs (SPAWNER_DATA_DIR, default ~/.local/state/spawner, /var/lib/spawner as root).", valueName: "path"))
    var dataDir: String?
    @Option(help: ArgumentHelp("Write {host, port, pid} as JSON here once listening (SPAWNER_READY_FILE).", valueName: "path"))
    var readyFile: String?
    @Option(help: ArgumentHelp("Most sessions in total (SPAWNER_MAX_SESSIONS, default unlimited).", valueName: "n"))
    var maxSessions: Int?
    @Option(help: ArgumentHelp("Most sessions per org (SPAWNER_MAX_SESSIONS_PER_ORG, default unlimited).", valueName: "n"))
    var maxSessionsPerOrg: Int?
    @Option(help: ArgumentHelp("Most sessions per owner (SPAWNER_MAX_SESSIONS_PER_OWNER, default unlimited).", valueName: "n"))
    var maxSessionsPerOwner: Int?
    @Option(help: ArgumentHelp("One deadline for a create: start, /readyz, env (SPAWNER_READY_TIMEOUT_MS, default 15000).", valueName: "ms"))
    var readyTimeoutMs: Int64?
    @Option(help: ArgumentHelp("Time between sweeps for TTL, idle and dead sessions (SPAWNER_SWEEP_INTERVAL_MS, default 5000).", valueName: "ms"))
    var sweepIntervalMs: Int64?
    @Option(help: ArgumentHelp("How long SIGTERM waits for open exec streams before cutting them; clients resume with Last-Event-ID (SPAWNER_SHUTDOWN_GRACE_MS, default 10000).", valueName: "ms"))
    var shutdownGraceMs: Int64?
    @Option(help: ArgumentHelp("ttlMs of a session that gives none (SPAWNER_DEFAULT_TTL_MS, default 86400000).", valueName: "ms"))
    var defaultTtlMs: Int64?
    @Option(help: ArgumentHelp("idleTimeoutMs of a session that gives none; 0 never (SPAWNER_DEFAULT_IDLE_TIMEOUT_MS, default 1800000).", valueName: "ms"))
    var defaultIdleTimeoutMs: Int64?
    @Option(help: ArgumentHelp("The runnerd binary (SPAWNER_RUNNERD_PATH, default: next to spawner).", valueName: "path"))
    var runnerdPath: String?
    @Option(help: ArgumentHelp("runnerd's SIGTERM-to-SIGKILL grace for execs when a session is destroyed (SPAWNER_RUNNERD_KILL_GRACE_MS, default 2000).", valueName: "ms"))
    var runnerdKillGraceMs: Int64?
    @Option(help: ArgumentHelp("trace, debug, info, notice, warning, error or critical (SPAWNER_LOG_LEVEL, default info).", valueName: "level"))
    var logLevel: String?

    func run() async throws {
        MallocTuning.apply()
        var flags = SpawnerConfig.Flags()
        flags.listen = listen
        flags.secretFile = secretFile
        flags.dataDir = dataDir
        flags.readyFile = readyFile
        flags.maxSessions = maxSessions
        flags.maxSessionsPerOrg = maxSessionsPerOrg
        flags.maxSessionsPerOwner = maxSessionsPerOwner
        flags.readyTimeoutMs = readyTimeoutMs
        flags.sweepIntervalMs = sweepIntervalMs
        flags.shutdownGraceMs = shutdownGraceMs
        flags.defaultTTLMs = defaultTtlMs
        flags.defaultIdleTimeoutMs = defaultIdleTimeoutMs
        flags.runnerdPath = runnerdPath
        flags.runnerdKillGraceMs = runnerdKillGraceMs
        flags.logLevel = logLevel

        let environment = ProcessEnvironment.current
        let config: SpawnerConfig
        do {
            config = try SpawnerConfig.resolve(
                environment: environment, flags: flags, defaults: .current(environment: environment), readFile: ProcessEnvironment.readFile)
        } catch {
            throw ValidationError("\(error)")
        }
        StandardErrorLogging.bootstrap(level: config.logLevel)
        let logger = Logger(label: "spawner")
        guard !(config.backend is LocalSettings) || ProcessEnvironment.isExecutable(config.runnerdPath) else {
            throw ValidationError("runnerd not found at \(config.runnerdPath) (build it, or set SPAWNER_RUNNERD_PATH)")
        }
        let components: SpawnerComponents
        do {
            components = try SpawnerComponents(config: config, logger: logger)
        } catch {
            throw ValidationError("cannot start the \(config.backendName) backend (data directory \(config.dataDir)): \(error)")
        }
        var group = ServiceGroupConfiguration(
            services: [buildApplication(components)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        group.maximumGracefulShutdownDuration = .milliseconds(config.shutdownGraceMs)
        try await ServiceGroup(configuration: group).run()
        logger.info("spawner stopped; sessions keep running and are adopted at the next start")
    }
}
