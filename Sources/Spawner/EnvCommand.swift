import ArgumentParser
import RunnerProtocol
import SpawnerClient

/// `spawner env SID K=V…`.
struct EnvCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "env",
        abstract: "Set (and unset) entries of a session's env store; every later exec sees them.")

    @OptionGroup var options: ClientOptions
    @Option(help: ArgumentHelp("Remove an entry (repeatable).", valueName: "NAME"))
    var unset: [String] = []
    @Argument(help: "The session id.")
    var sessionId: String
    @Argument(help: ArgumentHelp("Entries to set.", valueName: "NAME=value"))
    var assignments: [String] = []

    func validate() throws {
        if assignments.isEmpty && unset.isEmpty { throw ValidationError("give NAME=value entries or --unset NAME") }
    }

    func run() async throws {
        let patch = EnvPatch(set: assignments.isEmpty ? nil : try parseAssignments(assignments), unset: unset.isEmpty ? nil : unset)
        let client = try options.client()
        let answer = try await reporting { try await client.env(sessionId, patch) }
        if !answer.denied.isEmpty {
            ProcessEnvironment.printError("spawner: denied: \(answer.denied.joined(separator: ", "))")
            throw ExitCode(1)
        }
    }
}
