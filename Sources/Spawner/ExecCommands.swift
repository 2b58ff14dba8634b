import ArgumentParser
import RunnerProtocol
import SpawnerClient

/// `spawner exec SID -- CMD…`.
struct ExecCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Run a command in a session; its output streams here and its exit status is ours.",
        discussion: """
            stdout and stderr are written as they arrive. If the connection drops, the client \
            re-attaches after the last event it saw, so no output is lost or repeated. Exit \
            status: the command's (128+N when killed by signal N); 127 when it could not be \
            started; 125 when the spawner or the session failed.
            """)

    @OptionGroup var options: ClientOptions
    @Option(help: "The exec id ([A-Za-z0-9_-]{1,64}; default a random one).")
    var execId: String?
    @Option(help: "Working directory, relative to the workspace or absolute inside it.")
    var cwd: String?
    @Option(name: .customLong("env"), help: ArgumentHelp("An environment entry for this command (repeatable).", valueName: "NAME=value"))
    var env: [String] = []
    @Option(help: "Kill the command after this many ms without an attached client (0: never).")
    var timeoutMs: Int64 = 0
    @Flag(help: "Run the words as one `bash -lc` script instead of an argv.")
    var shell = false
    @Flag(name: [.customShort("i"), .long], help: "Send this process's stdin (read to its end, at most 3 MiB) to the command.")
    var interactive = false
    @Argument(help: "The session id.")
    var sessionId: String
    @Argument(parsing: .postTerminator, help: "The command and its arguments, after --.")
    var command: [String] = []

    func validate() throws {
        if command.isEmpty { throw ValidationError("give the command after --, e.g. spawner exec demo -- echo hi") }
    }

    func run() async throws {
        let client = try options.client()
        let execId = self.execId ?? "cli-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        var request = ExecRequest(
            execId: execId, command: shell ? nil : command, shell: shell ? command.joined(separator: " ") : nil, cwd: cwd,
            env: env.isEmpty ? nil : try parseAssignments(env), timeoutMs: timeoutMs, stdoutMaxBytes: 0, stderrMaxBytes: 0)
        if interactive {
            let input = try ProcessEnvironment.readFile("/dev/stdin")
            guard input.count <= 3 << 20 else { throw ValidationError("stdin is larger than 3 MiB") }
            request.stdinMode = .close
            request.stdinBase64 = Base64.encode(input)
        }
        let end = try await reporting {
            try await client.follow(sessionId, execId: execId, start: request, onEvent: writeOutput)
        }
        throw ExitCode(exitStatus(of: end))
    }
}

/// `spawner attach SID EXEC_ID`.
struct AttachCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attach",
        abstract: "Follow an exec (running or finished): its retained output, then the live rest; its exit status is ours.")

    @OptionGroup var options: ClientOptions
    @Option(help: "Only the events after this seq.")
    var sinceSeq: UInt64 = 0
    @Argument(help: "The session id.")
    var sessionId: String
    @Argument(help: "The exec id.")
    var execId: String

    func run() async throws {
        let client = try options.client()
        let end = try await reporting {
            try await client.follow(sessionId, execId: execId, after: sinceSeq, onEvent: writeOutput)
        }
        throw ExitCode(exitStatus(of: end))
    }
}

/// Writes an event's output to stdout/stderr; reports a `gap` and a `fail` on stderr.
@Sendable func writeOutput(_ event: ExecEvent) {
    switch event.body {
    case .stdout(let bytes): ProcessEnvironment.write(1, bytes)
    case .stderr(let bytes): ProcessEnvironment.write(2, bytes)
    case .gap(let gap): ProcessEnvironment.printError("spawner: output lost (events \(gap.fromSeq)...\(gap.toSeq) are no longer retained)")
    case .fail(let fail): ProcessEnvironment.printError("spawner: \(fail.code): \(fail.message)")
    case .start, .exit: break
    }
}

/// The command's exit status, as a shell would report it.
func exitStatus(of end: ExecEvent) -> Int32 {
    switch end.body {
    case .exit(let exit): exit.exitCode >= 0 ? exit.exitCode : 125
    case .fail(let fail): fail.code == .spawnFailed ? 127 : 125
    default: 125
    }
}
