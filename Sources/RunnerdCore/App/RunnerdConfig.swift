import RunnerProtocol
import SystemSupport

/// runnerd's resolved configuration: environment first, flags override, then validated.
public struct RunnerdConfig: Sendable {
    public var listenHost = "0.0.0.0"
    public var listenPort = 8200
    public var token: [UInt8]?
    public var workspace = "/agent"
    public var maxLiveExecs = Limits.defaultMaxLiveExecs
    public var sessionEnv: [String: String] = [:]
    public var stateDir: String?
    public var killGraceMs = Limits.defaultKillGraceMs
    public var retainFinished = Limits.finishedExecsRetained
    public var readyFile: String?
    public var logLevel = "info"
    /// Exec hardening (`RUNNERD_HARDENING=off` disables it).
    public var hardening = true
    public var agentUID: UInt32 = 10001
    public var agentGID: UInt32 = 10001
    public var rlimitNofile: UInt64? = 4096
    public var rlimitNproc: UInt64? = 4096
    public var rlimitFsize: UInt64?
    /// Path of `runnerd-exec-shim`; default: next to the runnerd binary.
    public var execShim: String?
    /// HOME of agent processes when they run under the agent uid (default: the workspace).
    public var agentHome: String?
    /// Where runnerd writes the agent's `passwd` and `group` at boot (`RUNNERD_IDENTITY_DIR`;
    /// the image's `/etc/passwd` and `/etc/group` link there), from the files in
    /// `RUNNERD_IDENTITY_BASE` (`AgentAccount`). nil: runnerd writes none.
    public var identityDir: String?
    public var identityBase = "/usr/share/runnerd/identity"
    /// Landlock on every agent where the kernel has it (`RUNNERD_LANDLOCK=off` turns it off).
    public var landlock = true
    /// Paths agents may also read and execute (`RUNNERD_LANDLOCK_READ`), or read and write
    /// (`RUNNERD_LANDLOCK_WRITE`), beside the built-in ones (`LandlockRules`); `:`-separated.
    public var landlockRead: [String] = []
    public var landlockWrite: [String] = []
    /// Open HTTP connections at most (`RUNNERD_MAX_CONNECTIONS`; see `ConnectionLimiter`).
    public var maxConnections = 1024
    /// A connection with nothing in flight on which nothing arrives for this long is closed
    /// (`RUNNERD_IDLE_TIMEOUT_MS`). Above the 60 s that HTTP clients' pools keep a connection
    /// (async-http-client's default), so that a pooled connection is closed by the client first.
    public var idleTimeoutMs: Int64 = 75_000
    /// The network confinement the backend asks for (`RUNNERD_NET_*`, `SandboxNetworkPolicy`);
    /// nil: none, runnerd leaves the network alone.
    public var network: SandboxNetworkPolicy?

    /// The ranges of the connection settings.
    public static let maxConnectionsRange = 1...1_000_000
    public static let idleTimeoutRange: ClosedRange<Int64> = 10...86_400_000

    /// Values given on the command line; nil means "not given".
    public struct Flags: Sendable {
        public var listen: String?
        public var tokenFile: String?
        public var workspace: String?
        public var maxLiveExecs: Int?
        public var sessionEnv: String?
        public var stateDir: String?
        public var killGraceMs: Int64?
        public var readyFile: String?
        public var logLevel: String?
        public var insecureNoAuth = false
        public init() {}
    }

    public struct Invalid: Error, CustomStringConvertible, Sendable {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    public init() {}

    /// Resolves the configuration; `readTokenFile` reads a token file, `realPath` resolves the
    /// symlinks of a path (the path itself when it does not exist).
    public static func resolve(
        environment: [String: String], flags: Flags, readTokenFile: (String) throws -> TokenFile,
        realPath: (String) -> String = { $0 }
    ) throws -> RunnerdConfig {
        var config = RunnerdConfig()
        func value(_ flag: String?, _ name: String) -> String? { flag ?? environment[name] }

        if let listen = value(flags.listen, "RUNNERD_LISTEN") {
            (config.listenHost, config.listenPort) = try parseListen(listen)
        }
        if let workspace = value(flags.workspace, "RUNNERD_WORKSPACE") { config.workspace = workspace }
        if let raw = flags.maxLiveExecs.map(String.init) ?? environment["RUNNERD_MAX_LIVE_EXECS"] {
            guard let max = Int(raw), max > 0 else { throw Invalid("RUNNERD_MAX_LIVE_EXECS must be a positive integer, got \(raw)") }
            config.maxLiveExecs = max
        }
        if let raw = flags.killGraceMs.map(String.init) ?? environment["RUNNERD_KILL_GRACE_MS"] {
            guard let grace = Int64(raw), Bounds.killGraceMs.contains(grace) else {
                throw Invalid("RUNNERD_KILL_GRACE_MS must be an integer in \(Bounds.killGraceMs), got \(raw)")
            }
            config.killGraceMs = grace
        }
        if let raw = environment["RUNNERD_MAX_CONNECTIONS"] {
            guard let max = Int(raw), maxConnectionsRange.contains(max) else {
                throw Invalid("RUNNERD_MAX_CONNECTIONS must be an integer in \(maxConnectionsRange), got \(raw)")
            }
            config.maxConnections = max
        }
        if let raw = environment["RUNNERD_IDLE_TIMEOUT_MS"] {
            guard let timeout = Int64(raw), idleTimeoutRange.contains(timeout) else {
                throw Invalid("RUNNERD_IDLE_TIMEOUT_MS must be an integer in \(idleTimeoutRange), got \(raw)")
            }
            config.idleTimeoutMs = timeout
        }
        if let raw = environment["RUNNERD_RETAIN_FINISHED"] {
            guard let retain = Int(raw), retain >= Limits.finishedExecsRetained else {
                throw Invalid("RUNNERD_RETAIN_FINISHED must be an integer >= \(Limits.finishedExecsRetained)")
            }
            config.retainFinished = retain
        }
        if let raw = value(flags.sessionEnv, "RUNNERD_SESSION_ENV") {
            do {
                config.sessionEnv = try WireJSON.decode([String: String].self, from: Array(raw.utf8))
            } catch {
                throw Invalid("RUNNERD_SESSION_ENV must be a JSON object of strings")
            }
        }
        config.stateDir = value(flags.stateDir, "RUNNERD_STATE_DIR")
        config.readyFile = value(flags.readyFile, "RUNNERD_READY_FILE")
        if let level = value(flags.logLevel, "RUNNERD_LOG_LEVEL") { config.logLevel = level }
        try resolveHardening(&config, environment)
        switch SandboxNetworkPolicy.parse(environment: environment) {
        case .success(let policy): config.network = policy
        case .failure(let invalid): throw Invalid(invalid.description)
        }

        // The file form wins over the inline token. There is no --token flag: argv is public
        // (/proc/PID/cmdline), where the environment of a root runnerd is not.
        if let path = value(flags.tokenFile, "RUNNERD_TOKEN_FILE") {
            let file = try readTokenFile(path)
            if let refusal = file.refusal(path: path, workspace: realPath(config.workspace), agentUID: config.agentUID) {
                throw Invalid(refusal)
            }
            var bytes = file.contents
            while let last = bytes.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") || last == UInt8(ascii: " ") {
                bytes.removeLast()
            }
            config.token = bytes
        } else if let token = environment["RUNNERD_TOKEN"] {
            config.token = Array(token.utf8)
        }
        if let token = config.token, token.isEmpty { throw Invalid("the runnerd token is empty") }
        if config.token == nil && !flags.insecureNoAuth {
            throw Invalid("no token: set RUNNERD_TOKEN or RUNNERD_TOKEN_FILE (or pass --insecure-no-auth)")
        }
        if flags.insecureNoAuth { config.token = nil }
        return config
    }

    private static func resolveHardening(_ config: inout RunnerdConfig, _ environment: [String: String]) throws {
        switch environment["RUNNERD_HARDENING"]?.lowercased() {
        case nil, "", "on", "1", "true": config.hardening = true
        case "off", "0", "false": config.hardening = false
        case let other?: throw Invalid("RUNNERD_HARDENING must be on or off, got \(other)")
        }
        func id(_ raw: String, _ name: String) throws -> UInt32 {
            guard let value = UInt32(raw), value != 0 else { throw Invalid("\(name) must be a non-zero numeric id, got \(raw)") }
            return value
        }
        // RUNNERD_AGENT_UID takes "uid" or "uid:gid"; RUNNERD_AGENT_GID, if set, must agree.
        if let raw = environment["RUNNERD_AGENT_UID"] {
            let parts = raw.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { throw Invalid("RUNNERD_AGENT_UID must be uid or uid:gid, got \(raw)") }
            config.agentUID = try id(String(parts[0]), "RUNNERD_AGENT_UID")
            config.agentGID = parts.count == 2 ? try id(String(parts[1]), "RUNNERD_AGENT_UID's gid") : config.agentUID
        }
        if let raw = environment["RUNNERD_AGENT_GID"] {
            let gid = try id(raw, "RUNNERD_AGENT_GID")
            if let uidSpec = environment["RUNNERD_AGENT_UID"], uidSpec.contains(":"), gid != config.agentGID {
                throw Invalid("RUNNERD_AGENT_GID (\(gid)) contradicts RUNNERD_AGENT_UID (\(uidSpec))")
            }
            config.agentGID = gid
        }
        func limit(_ name: String, _ current: UInt64?) throws -> UInt64? {
            guard let raw = environment[name] else { return current }
            if raw == "unlimited" || raw == "inf" { return nil }
            guard let value = UInt64(raw), value > 0 else { throw Invalid("\(name) must be a positive integer or unlimited, got \(raw)") }
            return value
        }
        config.rlimitNofile = try limit("RUNNERD_RLIMIT_NOFILE", config.rlimitNofile)
        config.rlimitNproc = try limit("RUNNERD_RLIMIT_NPROC", config.rlimitNproc)
        config.rlimitFsize = try limit("RUNNERD_RLIMIT_FSIZE", config.rlimitFsize)
        switch environment["RUNNERD_LANDLOCK"]?.lowercased() {
        case nil, "", "on", "1", "true": config.landlock = true
        case "off", "0", "false": config.landlock = false
        case let other?: throw Invalid("RUNNERD_LANDLOCK must be on or off, got \(other)")
        }
        config.landlockRead = LandlockRules.pathList(environment["RUNNERD_LANDLOCK_READ"])
        config.landlockWrite = LandlockRules.pathList(environment["RUNNERD_LANDLOCK_WRITE"])
        if let relative = (config.landlockRead + config.landlockWrite).first(where: { !$0.hasPrefix("/") }) {
            throw Invalid("RUNNERD_LANDLOCK_READ and RUNNERD_LANDLOCK_WRITE take absolute paths, got \(relative)")
        }
        config.identityDir = environment["RUNNERD_IDENTITY_DIR"]
        if let base = environment["RUNNERD_IDENTITY_BASE"] { config.identityBase = base }
        config.execShim = environment["RUNNERD_EXEC_SHIM"]
        config.agentHome = environment["RUNNERD_AGENT_HOME"]
    }

    /// The journal directory: `RUNNERD_STATE_DIR` or `$RUNNERD_WORKSPACE/.runnerd`.
    public var resolvedStateDir: String { stateDir ?? workspace + "/.runnerd" }

    static func parseListen(_ listen: String) throws -> (String, Int) {
        guard let address = ListenAddress(listen) else { throw Invalid("RUNNERD_LISTEN must be host:port, got \(listen)") }
        return (address.host, address.port)
    }

    /// Names removed from the environment children inherit.
    public static let secretVariables = ["RUNNERD_TOKEN", "RUNNERD_TOKEN_FILE"]
}
