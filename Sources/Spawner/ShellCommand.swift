import ArgumentParser
import Foundation
import Logging
import NIOCore
import RunnerProtocol
import SpawnerClient
import Synchronization
import SystemSupport

/// `spawner shell SID`: an interactive terminal in a session.
struct ShellCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shell",
        abstract: "Open an interactive login shell in a session (a terminal over a WebSocket); its exit status is ours.",
        discussion: """
            The local terminal is put in raw mode: every key, Ctrl-C included, goes to the remote \
            shell. The remote terminal takes the local window's size, and follows it on resize. \
            With --url, prints a pre-signed URL of the spawner's web terminal for the session \
            instead (valid for 5 minutes).
            """)

    // Not `ClientOptions`: its --url (the spawner's) would clash with this command's --url.
    @Option(name: .customLong("spawner"), help: ArgumentHelp("The spawner (SPAWNER_URL, default http://127.0.0.1:8080).", valueName: "url"))
    var spawnerURL: String?
    @Flag(help: "Print a pre-signed URL of the web terminal page and exit.")
    var url = false
    @Option(help: "Re-attach to this running terminal exec instead of starting a shell.")
    var execId: String?
    @Option(help: "With --exec-id: the output after this seq only.")
    var sinceSeq: UInt64?
    @Argument(help: "The session id.")
    var sessionId: String

    func run() async throws {
        let client = try ClientOptions.client(url: spawnerURL)
        if url {
            print(client.terminalPageURL(sessionId))
            return
        }
        let size = LocalTerminal.windowSize(1).map { TerminalSize(cols: $0.cols, rows: $0.rows) } ?? TerminalSize(cols: 80, rows: 24)
        let saved = LocalTerminal.enterRawMode(0)
        defer { if let saved { LocalTerminal.restore(0, saved) } }
        let exit = ExitBox()
        var logger = Logger(label: "spawner-shell")
        logger.logLevel = .critical
        do {
            try await client.terminal(sessionId, size: size, execId: execId, sinceSeq: execId == nil ? nil : (sinceSeq ?? 0), logger: logger) {
                socket, messages in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await Self.forwardInput(to: socket) }
                    group.addTask { try await Self.forwardResizes(to: socket) }
                    group.addTask {
                        for try await message in messages {
                            switch TerminalSocket.decode(message) {
                            case .output(let buffer): ProcessEnvironment.write(1, Array(buffer.readableBytesView))
                            case .frame(let frame):
                                if let end = frame.exit { exit.set(end.exitCode >= 0 ? end.exitCode : 125) }
                                if let fail = frame.fail {
                                    ProcessEnvironment.printError("\r\nspawner: \(fail.code): \(fail.message)\r")
                                    exit.set(125)
                                }
                            case nil: break
                            }
                        }
                    }
                    // The server's messages end when the shell has ended (or the socket closed).
                    try await group.next()
                    group.cancelAll()
                }
            }
        } catch {
            if let saved { LocalTerminal.restore(0, saved) }
            ProcessEnvironment.printError("spawner: \(describe(error))")
            throw ExitCode(125)
        }
        throw ExitCode(exit.value ?? 125)
    }

    /// stdin to the socket, as it is typed (a thread blocks on read; the process exits with the shell).
    static func forwardInput(to socket: TerminalSocket) async throws {
        let input = AsyncStream<[UInt8]> { continuation in
            let thread = Thread {
                var buffer = [UInt8](repeating: 0, count: 4096)
                while true {
                    guard let count = try? buffer.withUnsafeMutableBytes({ try Syscall.readSome(0, into: $0) }), count > 0 else { break }
                    continuation.yield(Array(buffer[0..<count]))
                }
                continuation.finish()
            }
            thread.start()
        }
        for await bytes in input { try await socket.send(bytes) }
        // End of local input (a pipe): the shell sees ^D.
        try await socket.send([0x04])
        try await Task.sleep(for: .seconds(3600 * 24))
    }

    /// The local window's size to the remote terminal on every SIGWINCH.
    static func forwardResizes(to socket: TerminalSocket) async throws {
        let changes = AsyncStream<Void> { continuation in
            do { try LocalTerminal.onWindowChange { continuation.yield() } } catch { continuation.finish() }
        }
        for await _ in changes {
            if let size = LocalTerminal.windowSize(1) { try await socket.resize(TerminalSize(cols: size.cols, rows: size.rows)) }
        }
        try await Task.sleep(for: .seconds(3600 * 24))
    }
}

/// The exit status the server reported.
final class ExitBox: Sendable {
    private let status = Mutex<Int32?>(nil)
    func set(_ value: Int32) { status.withLock { $0 = value } }
    var value: Int32? { status.withLock { $0 } }
}
