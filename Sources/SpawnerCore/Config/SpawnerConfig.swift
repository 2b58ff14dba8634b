import RunnerProtocol
import SystemSupport

/// The spawner's resolved configuration: environment first, flags override, then validated.
public struct SpawnerConfig: Sendable {
    /// Loopback by default (contract v1.2 §4): a container image or the compose stack sets
    /// `0.0.0.0` explicitly.
    public var listenHost = "127.0.0.1"
    public var listenPort = 8080
    /// HTTPS only, with this certificate and key (`SPAWNER_TLS_CERT`, `SPAWNER_TLS_KEY`).
    public var tls: ListenerTLS?
    /// The HMAC secret (at least `SpawnerSecret.minimumBytes`).
    public var secret: [UInt8] = []
    /// Where session records, workspaces and runnerd logs live.
    public var dataDir: String
    /// Once listening, `{host, port, pid}` is written here (useful with port 0).
    public var readyFile: String?
    public var caps = SessionCaps()
    /// One deadline for a create: start, runnerd `/readyz`, env seeding.
    public var readyTimeoutMs: Int64 = 15_000
    public var sweepIntervalMs: Int64 = 5_000
    /// How long a graceful shutdown waits for open requests (exec streams) before cancelling them.
    public var shutdownGraceMs: Int64 = 10_000
    public var defaultTTLMs: Int64 = 24 * 3_600_000
    public var defaultIdleTimeoutMs: Int64 = 30 * 60_000
    /// The runnerd binary the local backend starts.
    public var runnerdPath: String
    /// runnerd's SIGTERM→SIGKILL grace for execs when a session is destroyed.
    public var runnerdKillGraceMs: Int64 = 2_000
    public var runnerdLogLevel = "info"
    public var logLevel = "info"
    /// The backend that runs the sandboxes (`SPAWNER_BACKEND`), with its settings.
    public var backend: any BackendSettings
    /// Its name (`SPAWNER_BACKEND`'s value).
    public var backendName: String { type(of: backend).name }
    /// Client connections: cap, idle timeout, body timeout and budget.
    public var connections = ConnectionLimits()
    /// Debian's node-xterm package, bundled into the web terminal's script (`SPAWNER_XTERM_DIR`).
    public var xtermDirectory = "/usr/share/nodejs/xterm"
    /// Adopt sessions made before nonces whose runnerd predates the adoption challenge by
    /// sending them the token (`SPAWNER_ADOPT_UNPROVEN_LEGACY=true`; see `AdoptionProbe`).
    public var adoptUnprovenLegacy = false
    /// Where each session's agent uid comes from (`SPAWNER_AGENT_UIDS`; nil: `off`).
    public var agentUIDs: AgentUIDRange? = .standard
    /// Test-only: make a create fail at a chosen step. Only settable in code (the tests build
    /// the app in-process); no flag, variable or request reaches it.
    public var faults = CreateFaults()

    public init(secret: [UInt8], dataDir: String, runnerdPath: String, backend: any BackendSettings) {
        self.backend = backend
        self.secret = secret
        self.dataDir = dataDir
        self.runnerdPath = runnerdPath
    }

    /// Values given on the command line; nil means "not given".
    public struct Flags: Sendable {
        public var listen: String?
        public var tlsCertificate: String?
        public var tlsKey: String?
        public var secretFile: String?
        public var dataDir: String?
        public var readyFile: String?
        public var maxSessions: Int?
        public var maxSessionsPerOrg: Int?
        public var maxSessionsPerOwner: Int?
        public var readyTimeoutMs: Int64?
        public var sweepIntervalMs: Int64?
        public var shutdownGraceMs: Int64?
        public var defaultTTLMs: Int64?
        public var defaultIdleTimeoutMs: Int64?
        public var runnerdPath: String?
        public var runnerdKillGraceMs: Int64?
        public var logLevel: String?
        public init() {}
    }

    /// A configuration the spawner refuses to start with.
    public struct Invalid: Error, CustomStringConvertible, Sendable {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    /// Where things are when nothing says otherwise.
    public struct Defaults: Sendable {
        /// `~/.local/state/spawner`, or `/var/lib/spawner` as root.
        public var dataDir: String
        /// `runnerd` next to the spawner executable.
        public var runnerdPath: String
        public init(dataDir: String, runnerdPath: String) {
            self.dataDir = dataDir
            self.runnerdPath = runnerdPath
        }
    }

    /// Resolves the configuration; `backends` are those `SPAWNER_BACKEND` may name (the first
    /// is the default), `readFile` reads the secret file and the backend's files.
    public static func resolve(
        environment: [String: String], flags: Flags, defaults: Defaults, backends: [any BackendSettings.Type],
        readFile: (String) throws -> [UInt8]
    ) throws -> SpawnerConfig {
        func value(_ flag: String?, _ name: String) -> String? { flag ?? environment[name] }
        func number(_ flag: Int64?, _ name: String, minimum: Int64, maximum: Int64 = Int64(Int32.max)) throws -> Int64? {
            guard let raw = flag.map(String.init) ?? environment[name] else { return nil }
            guard let parsed = Int64(raw), (minimum...maximum).contains(parsed) else {
                throw Invalid("\(name) must be an integer from \(minimum) to \(maximum), got \(raw)")
            }
            return parsed
        }
        let hour: Int64 = 3_600_000

        let secret: [UInt8]
        do {
            secret = try SpawnerSecret.load(environment: environment, file: flags.secretFile, readFile: readFile)
        } catch {
            throw Invalid(error.description)
        }

        let name = environment["SPAWNER_BACKEND"].flatMap { $0.isEmpty ? nil : $0 }
        guard let settings = name == nil ? backends.first : backends.first(where: { $0.name == name }) else {
            let names = backends.map { $0.name }
            let choices = names.count > 1 ? names.dropLast().joined(separator: ", ") + " or " + names.last! : names.joined()
            throw Invalid("SPAWNER_BACKEND must be \(choices), got \(name ?? "")")
        }
        let backend = try settings.resolved(environment: environment, secret: secret, readFile: readFile)
        var config = SpawnerConfig(
            secret: secret, dataDir: value(flags.dataDir, "SPAWNER_DATA_DIR") ?? defaults.dataDir,
            runnerdPath: value(flags.runnerdPath, "SPAWNER_RUNNERD_PATH") ?? defaults.runnerdPath, backend: backend)
        if let listen = value(flags.listen, "SPAWNER_LISTEN") {
            guard let address = ListenAddress(listen) else { throw Invalid("SPAWNER_LISTEN must be host:port, got \(listen)") }
            (config.listenHost, config.listenPort) = (address.host, address.port)
        }
        config.tls = try ListenerTLS.resolve(
            certificate: value(flags.tlsCertificate, "SPAWNER_TLS_CERT"), key: value(flags.tlsKey, "SPAWNER_TLS_KEY"))
        config.readyFile = value(flags.readyFile, "SPAWNER_READY_FILE")
        config.caps.total = try number(flags.maxSessions.map(Int64.init), "SPAWNER_MAX_SESSIONS", minimum: 0).map(Int.init)
        config.caps.perOrg = try number(flags.maxSessionsPerOrg.map(Int64.init), "SPAWNER_MAX_SESSIONS_PER_ORG", minimum: 0).map(Int.init)
        config.caps.perOwner = try number(flags.maxSessionsPerOwner.map(Int64.init), "SPAWNER_MAX_SESSIONS_PER_OWNER", minimum: 0).map(Int.init)
        if let ms = try number(flags.readyTimeoutMs, "SPAWNER_READY_TIMEOUT_MS", minimum: 1, maximum: hour) { config.readyTimeoutMs = ms }
        if let ms = try number(flags.sweepIntervalMs, "SPAWNER_SWEEP_INTERVAL_MS", minimum: 10, maximum: hour) { config.sweepIntervalMs = ms }
        if let ms = try number(flags.shutdownGraceMs, "SPAWNER_SHUTDOWN_GRACE_MS", minimum: 0, maximum: hour) { config.shutdownGraceMs = ms }
        if let ms = try number(flags.defaultTTLMs, "SPAWNER_DEFAULT_TTL_MS", minimum: Bounds.ttlMs.lowerBound, maximum: Bounds.ttlMs.upperBound) { config.defaultTTLMs = ms }
        if let ms = try number(flags.defaultIdleTimeoutMs, "SPAWNER_DEFAULT_IDLE_TIMEOUT_MS", minimum: Bounds.idleTimeoutMs.lowerBound, maximum: Bounds.idleTimeoutMs.upperBound) { config.defaultIdleTimeoutMs = ms }
        if let ms = try number(flags.runnerdKillGraceMs, "SPAWNER_RUNNERD_KILL_GRACE_MS", minimum: 0, maximum: hour) { config.runnerdKillGraceMs = ms }
        config.connections = try ConnectionLimits.resolve(environment: environment) { try number(nil, $0, minimum: $1, maximum: $2) }
        if let level = value(flags.logLevel, "SPAWNER_LOG_LEVEL") { config.logLevel = level }
        if let level = environment["SPAWNER_RUNNERD_LOG_LEVEL"] { config.runnerdLogLevel = level }
        if let directory = environment["SPAWNER_XTERM_DIR"] { config.xtermDirectory = directory }
        do {
            config.agentUIDs = try AgentUIDSetting.parse(environment["SPAWNER_AGENT_UIDS"]).range
        } catch {
            throw Invalid(error.description)
        }
        switch environment["SPAWNER_ADOPT_UNPROVEN_LEGACY"] {
        case nil, "", "false": config.adoptUnprovenLegacy = false
        case "true": config.adoptUnprovenLegacy = true
        case let other?: throw Invalid("SPAWNER_ADOPT_UNPROVEN_LEGACY must be true or false, got \(other)")
        }
        return config
    }
}

extension SpawnerConfig.Defaults {
    /// This machine's defaults: the data directory by user (`$XDG_STATE_HOME/spawner` or
    /// `~/.local/state/spawner`; `/var/lib/spawner` as root) and the `runnerd` next to this executable.
    public static func current(environment: [String: String]) -> SpawnerConfig.Defaults {
        let dataDir: String
        if Syscall.isRoot {
            dataDir = "/var/lib/spawner"
        } else if let state = environment["XDG_STATE_HOME"], state.hasPrefix("/") {
            dataDir = state + "/spawner"
        } else {
            dataDir = (environment["HOME"] ?? "/tmp") + "/.local/state/spawner"
        }
        let executable = (try? Syscall.realpath("/proc/self/exe")) ?? CommandLine.arguments[0]
        let directory = executable.lastIndex(of: "/").map { String(executable[..<$0]) } ?? "."
        return SpawnerConfig.Defaults(dataDir: dataDir, runnerdPath: directory + "/runnerd")
    }
}
