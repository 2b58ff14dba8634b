import ArgumentParser
import ConformanceKit

/// `spawner-conformance --url URL --secret-file FILE`: checks a spawner against the wire
/// contract (§2 and §3) over HTTP. One line per check, then `N passed, N failed, N skipped`;
/// exit 0 iff no check failed. It creates sessions (ids `cf-<run>-…`) and deletes them.
@main
struct SpawnerConformanceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spawner-conformance",
        abstract: "Black-box conformance checks of a spawner (wire contract v1.2, sections 2 and 3).")

    @Option(help: "The spawner's base URL, e.g. http://127.0.0.1:8080") var url: String
    @Option(help: "A file holding the HMAC secret (a trailing line end is not part of it).") var secretFile: String
    @Option(help: "The spawner's total session cap (SPAWNER_MAX_SESSIONS): checks the 429.") var sessionCap: Int?
    @Option(help: "The per-org cap (SPAWNER_MAX_SESSIONS_PER_ORG).") var orgCap: Int?
    @Option(help: "The per-owner cap (SPAWNER_MAX_SESSIONS_PER_OWNER).") var ownerCap: Int?
    @Option(help: "A shell command that restarts the spawner (same data, secret and URL): checks re-adoption.") var restartHook: String?
    @Option(parsing: .singleValue, help: "Run only these checks (a name, or a prefix ending in '.').") var only: [String] = []
    @Option(parsing: .singleValue, help: "Leave out these checks.") var skip: [String] = []
    @Flag(help: "The sandboxes have no PTY / signals / processes / watch (§3): those checks are skipped.") var noInteractive = false
    @Option(help: "Validate against the schemas in this directory instead of the built-in ones.") var schemas: String?
    @Flag(help: "List the checks and exit.") var list = false

    func run() async throws {
        let options = SpawnerOptions(sessionCap: sessionCap, orgCap: orgCap, ownerCap: ownerCap, restartHook: restartHook)
        if list {
            let client = WireClient()
            let target = SpawnerTarget(baseURL: url, secret: [0], client: client, validator: SchemaValidator(registry: .embedded), runTag: "list")
            SuiteRun.list(SpawnerSuite.checks(target, options)).forEach { print($0) }
            await client.shutdown()
            return
        }
        let secret = try SuiteRun.secret(fromFile: secretFile)
        let summary = await SuiteRun.spawner(
            url: url, secret: secret, options: options,
            runner: CheckRunner(absent: noInteractive ? [.processes, .pty, .watch, .signals] : [], only: only.flatMap { $0.split(separator: ",").map(String.init) },
                                skip: skip.flatMap { $0.split(separator: ",").map(String.init) }),
            registry: try SuiteRun.registry(schemas: schemas), output: SuiteRun.printLine)
        throw ExitCode(summary.ok ? 0 : 1)
    }
}
