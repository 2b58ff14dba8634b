import ArgumentParser
import RunnerProtocol
import SpawnerClient

/// `spawner ps SID`.
struct PsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ps",
        abstract: "List a session's processes, with the exec each belongs to.",
        discussion: """
            Processes an exec left running after it ended (a server started with `&`) are \
            listed without an exec; stop them with `spawner kill SESSION PID`.
            """)

    @OptionGroup var options: ClientOptions
    @Flag(help: "Print the list as JSON.")
    var json = false
    @Argument(help: "The session id.")
    var sessionId: String

    func run() async throws {
        let client = try options.client()
        let list = try await reporting { try await client.processes(sessionId) }
        if json {
            ProcessEnvironment.write(1, try WireJSON.encode(list) + [UInt8(ascii: "\n")])
            return
        }
        var rows = [["PID", "PPID", "PGID", "UID", "S", "EXEC", "COMMAND"]]
        for process in list.processes {
            rows.append([
                String(process.pid), String(process.ppid), String(process.pgid), String(process.uid), process.state,
                process.execId ?? "-", process.command.isEmpty ? "[defunct]" : process.command.joined(separator: " "),
            ])
        }
        let widths = (0..<6).map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            let padded = (0..<6).map { row[$0] + String(repeating: " ", count: widths[$0] - row[$0].count) }
            print((padded + [row[6]]).joined(separator: "  "))
        }
    }
}

/// `spawner kill SID PID|--exec ID [-s SIGNAL]`.
struct KillCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kill",
        abstract: "Send a signal to one of a session's processes, or to an exec's process group.",
        discussion: "Exit status 0 when the signal was sent, 1 when the process or exec had already ended.")

    @OptionGroup var options: ClientOptions
    @Option(name: [.customShort("s"), .long], help: "HUP INT QUIT TERM KILL USR1 USR2 CONT STOP WINCH, with or without SIG.")
    var signal = "TERM"
    @Option(name: .customLong("exec"), help: "Signal this exec's process group instead of a pid.")
    var execId: String?
    @Argument(help: "The session id.")
    var sessionId: String
    @Argument(help: "The pid (from spawner ps).")
    var pid: Int32?

    func validate() throws {
        if (pid == nil) == (execId == nil) { throw ValidationError("give either a pid or --exec ID") }
        if ContractSignal(name: signal) == nil { throw ValidationError(SignalRequest.badSignalMessage) }
    }

    func run() async throws {
        let client = try options.client()
        let response = try await reporting {
            if let execId { return try await client.signal(sessionId, execId, signal) }
            return try await client.signalProcess(sessionId, pid!, signal)
        }
        if !response.signaled { throw ExitCode(1) }
    }
}

/// `spawner watch SID [PATH]`.
struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Print changes to a session's files as they happen (one line each), until interrupted.")

    @OptionGroup var options: ClientOptions
    @Flag(help: "Print each event as JSON.")
    var json = false
    @Flag(help: "Only the directory itself, not its subdirectories.")
    var noRecursive = false
    @Argument(help: "The session id.")
    var sessionId: String
    @Argument(help: "A directory relative to the workspace (default the workspace).")
    var path = ""

    func run() async throws {
        let client = try options.client()
        try await reporting {
            for try await event in try await client.watch(sessionId, path: path, recursive: !noRecursive) {
                if json {
                    ProcessEnvironment.write(1, try WireJSON.encode(event) + [UInt8(ascii: "\n")])
                    continue
                }
                switch event.t {
                case .watching: ProcessEnvironment.printError("watching \(event.path.map { $0.isEmpty ? "." : $0 } ?? ".")")
                case .overflow: Self.line("overflow (events were lost\(event.reason.map { ": \($0)" } ?? ""))")
                case .fs:
                    let from = event.from.map { " (from \($0))" } ?? ""
                    Self.line("\(event.op?.rawValue ?? "?") \(event.type?.rawValue ?? "?") \(event.path ?? "")\(from)")
                }
            }
        }
    }

    /// A line on stdout at once (unbuffered: a watch's output is read as it comes).
    static func line(_ text: String) {
        ProcessEnvironment.write(1, Array((text + "\n").utf8))
    }
}
