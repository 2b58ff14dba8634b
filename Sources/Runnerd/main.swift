import ArgumentParser
import Glibc
import Logging
import RunnerdCore
import SystemSupport

/// The runnerd command line: flags override the `RUNNERD_*` environment of the contract.
struct RunnerdCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runnerd",
        abstract: "The in-sandbox exec daemon: starts agent commands and streams their output as NDJSON events.",
        discussion: """
            Every option also reads from the environment variable named after it \
            (RUNNERD_LISTEN, RUNNERD_TOKEN, RUNNERD_TOKEN_FILE, RUNNERD_WORKSPACE, \
            RUNNERD_MAX_LIVE_EXECS, RUNNERD_SESSION_ENV, RUNNERD_STATE_DIR, …); a flag wins. \
            The token itself has no flag (argv is visible to every process): RUNNERD_TOKEN or \
            RUNNERD_TOKEN_FILE.
            """,
        version: RunnerdServer.version)

    @Option(help: "host:port to listen on (default 0.0.0.0:8200; port 0 picks one).")
    var listen: String?
    @Option(help: "A file holding the shared secret (0600 or 0400, outside the workspace); wins over RUNNERD_TOKEN.")
    var tokenFile: String?
    @Option(help: "The root every cwd and file path must stay under (default /agent).")
    var workspace: String?
    @Option(help: "Concurrent running execs (default 16).")
    var maxLiveExecs: Int?
    @Option(help: "JSON object seeding the env store at boot.")
    var sessionEnv: String?
    @Option(help: "Where the exec journal lives (default $RUNNERD_WORKSPACE/.runnerd).")
    var stateDir: String?
    @Option(help: "Milliseconds between SIGTERM and SIGKILL on cancel, timeout and shutdown (default 5000).")
    var killGraceMs: Int64?
    @Option(help: "Write {host, port, pid} as JSON to this file once listening.")
    var readyFile: String?
    @Option(help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String?
    @Flag(help: "Serve without a token. Only for a developer's machine.")
    var insecureNoAuth = false

    func run() throws {
        var flags = RunnerdConfig.Flags()
        flags.listen = listen
        flags.tokenFile = tokenFile
        flags.workspace = workspace
        flags.maxLiveExecs = maxLiveExecs
        flags.sessionEnv = sessionEnv
        flags.stateDir = stateDir
        flags.killGraceMs = killGraceMs
        flags.readyFile = readyFile
        flags.logLevel = logLevel
        flags.insecureNoAuth = insecureNoAuth
        let config: RunnerdConfig
        do {
            config = try Self.resolve(flags)
        } catch {
            throw ValidationError("\(error)")
        }
        try Self.serve(config)
    }

    static func resolve(_ flags: RunnerdConfig.Flags) throws -> RunnerdConfig {
        try RunnerdConfig.resolve(
            environment: currentEnvironment(), flags: flags, readTokenFile: { try TokenFile.read($0) },
            realPath: { (try? Syscall.realpath($0)) ?? $0 })
    }

    static func serve(_ config: RunnerdConfig) throws {
        StandardErrorLogging.bootstrap(level: config.logLevel)
        let logger = Logger(label: "runnerd")
        if config.token == nil { logger.warning("authentication is disabled (--insecure-no-auth)") }
        try RunnerdServer(config: config, logger: logger).run()
    }

    private static func currentEnvironment() -> [String: String] {
        var result: [String: String] = [:]
        for entry in Syscall.environment() {
            guard let equals = entry.firstIndex(of: "=") else { continue }
            result[String(entry[..<equals])] = String(entry[entry.index(after: equals)...])
        }
        return result
    }
}

// Before any thread exists: SIGCHLD/SIGTERM/SIGINT/SIGHUP are taken synchronously.
SignalLoop.blockHandledSignals()
// In a container runnerd is configured by its environment alone. Without arguments there is
// nothing for the parser to do, and skipping it saves ~2 ms of every sandbox's boot; a bad
// configuration still goes through the parser, for its usual error and exit code.
if CommandLine.arguments.count == 1, let config = try? RunnerdCommand.resolve(RunnerdConfig.Flags()) {
    do {
        try RunnerdCommand.serve(config)
    } catch {
        RunnerdCommand.exit(withError: error)
    }
} else {
    RunnerdCommand.main()
}
