import ArgumentParser

/// `spawner`: the session service (`serve`) and its command-line client.
@main
struct SpawnerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spawner",
        abstract: "Sandbox sessions: the host-side session service and its client.",
        discussion: """
            `spawner serve` runs the service; with the built-in local backend every session is a \
            runnerd child process on 127.0.0.1 with a workspace directory of its own.

            The other commands are clients: they sign each request with SPAWNER_SECRET (or the \
            file named by SPAWNER_SECRET_FILE) and talk to SPAWNER_URL (default http://127.0.0.1:8080).

              spawner create demo
              spawner exec demo -- echo hi
              spawner rm demo
            """,
        version: "0.1.0",
        subcommands: [
            ServeCommand.self, CreateCommand.self, ListCommand.self, RemoveCommand.self, ExecCommand.self,
            AttachCommand.self, EnvCommand.self, CopyCommand.self, ShellCommand.self, PsCommand.self, KillCommand.self, WatchCommand.self,
        ])
}
