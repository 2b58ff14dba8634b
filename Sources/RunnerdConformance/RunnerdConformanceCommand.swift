import ArgumentParser
import ConformanceKit

/// `runnerd-conformance --url URL --token TOKEN`: checks a runnerd against the wire contract
/// (§1 and §3) over HTTP. One line per check, then `N passed, N failed, N skipped`; exit 0 iff
/// no check failed.
@main
struct RunnerdConformanceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runnerd-conformance",
        abstract: "Black-box conformance checks of a runnerd (wire contract v1.2, sections 1 and 3).")

    @Option(help: "runnerd's base URL, e.g. http://127.0.0.1:8200") var url: String
    @Option(help: "The token (prefer --token-file: argv is public).") var token: String?
    @Option(help: "A file holding the token.") var tokenFile: String?
    @Option(help: "The target's RUNNERD_MAX_LIVE_EXECS.") var maxLiveExecs: Int = 16
    @Option(parsing: .singleValue, help: "Run only these checks (a name, or a prefix ending in '.'; repeatable).") var only: [String] = []
    @Option(parsing: .singleValue, help: "Leave out these checks (a name, or a prefix ending in '.').") var skip: [String] = []
    @Flag(help: "The target has no PTY execs (§3): their checks are skipped.") var noPty = false
    @Flag(help: "The target has no exec signals (§3).") var noSignals = false
    @Flag(help: "The target has no /processes (§3).") var noProcesses = false
    @Flag(help: "The target has no /fs/watch (§3).") var noWatch = false
    @Option(help: "Validate against the schemas in this directory instead of the built-in ones.") var schemas: String?
    @Flag(help: "List the checks and exit.") var list = false

    func run() async throws {
        if list {
            let client = WireClient()
            let target = RunnerdTarget(baseURL: url, token: "", client: client, validator: SchemaValidator(registry: .embedded), runTag: "list")
            SuiteRun.list(RunnerdSuite.checks(target)).forEach { print($0) }
            await client.shutdown()
            return
        }
        let secret: String
        if let tokenFile {
            secret = String(decoding: try SuiteRun.secret(fromFile: tokenFile), as: UTF8.self)
        } else if let token {
            secret = token
        } else {
            throw ValidationError("--token or --token-file is required")
        }
        var absent: Set<Feature> = []
        if noPty { absent.insert(.pty) }
        if noSignals { absent.insert(.signals) }
        if noProcesses { absent.insert(.processes) }
        if noWatch { absent.insert(.watch) }
        let summary = await SuiteRun.runnerd(
            url: url, token: secret, options: RunnerdOptions(maxLiveExecs: maxLiveExecs),
            runner: CheckRunner(absent: absent, only: only.flatMap { $0.split(separator: ",").map(String.init) }, skip: skip.flatMap { $0.split(separator: ",").map(String.init) }),
            registry: try SuiteRun.registry(schemas: schemas), output: SuiteRun.printLine)
        throw ExitCode(summary.ok ? 0 : 1)
    }
}
