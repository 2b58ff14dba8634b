import Foundation
import HummingbirdWSClient
import Logging
import NIOCore
import RunnerProtocol
import SpawnerClient
import Synchronization
import SystemSupport
import Testing
import TestSupport

/// What a terminal socket received, collected for assertions.
final class TerminalTranscript: Sendable {
    private let state = Mutex<(output: String, frames: [TerminalFrame.Server], outputFrames: Int)>(("", [], 0))

    func take(_ message: WebSocketMessage) {
        switch TerminalSocket.decode(message) {
        case .output(let buffer): state.withLock {
            $0.output += String(buffer: buffer)
            $0.outputFrames += 1
        }
        case .frame(let frame): state.withLock { $0.frames.append(frame) }
        case nil: break
        }
    }

    var output: String { state.withLock { $0.output } }
    var frames: [TerminalFrame.Server] { state.withLock { $0.frames } }
    var outputFrames: Int { state.withLock { $0.outputFrames } }
    var exit: ExecEvent.Exit? { frames.lazy.compactMap(\.exit).first }
    var attached: TerminalFrame.Attached? { frames.lazy.compactMap(\.exec).first }

    func waitFor(_ text: String, timeout: Duration = .seconds(20)) async throws -> Bool {
        try await eventually(timeout: timeout) { output.contains(text) }
    }
}

/// A foreground job for a terminal: it says when it runs, and when SIGINT reached it (then
/// exits 130). Both lines are computed by the shell, so neither is in the command line a
/// terminal echoes.
enum TerminalJob {
    static let command = #"sh -c 'trap "echo caught-\$((6*7)); exit 130" INT; echo job-$((2*3)); while :; do sleep 1; done'"#
    static let ready = "job-6"
    static let interrupted = "caught-42"
}

@Suite(.timeLimit(.minutes(10))) struct TerminalWebSocketTests {
    static let logger = Logger(label: "terminal-test")

    @Test func aLoginShellOverTheWebSocketEndToEnd() async throws {
        try await withSpawner { (spawner: SpawnerProcess) async throws in
            let client = spawner.client
            _ = try await client.create("term")
            let transcript = TerminalTranscript()
            let close = try await client.terminal("term", size: TerminalSize(cols: 90, rows: 20), logger: Self.logger) { socket, messages in
                let reader = Task { for try await message in messages { transcript.take(message) } }
                try await socket.send(Array("stty size; tty; echo \"term=$TERM\"\r".utf8))
                #expect(try await transcript.waitFor("20 90\r\n"), "\(transcript.output)")
                #expect(try await transcript.waitFor("term=xterm-256color\r\n"), "\(transcript.output)")
                #expect(transcript.output.range(of: #"/dev/pts/[0-9]+"#, options: .regularExpression) != nil)
                try await socket.resize(TerminalSize(cols: 132, rows: 43))
                try await socket.send(Array("stty size\r".utf8))
                #expect(try await transcript.waitFor("43 132\r\n"), "\(transcript.output)")
                // Ctrl-C as a byte reaches the foreground job (its trap says so); the shell lives
                // on. What the job prints is computed, so the terminal's echo of the command
                // line never contains it.
                try await socket.send(Array((TerminalJob.command + "\r").utf8))
                #expect(try await transcript.waitFor(TerminalJob.ready), "\(transcript.output)")
                try await socket.send([0x03])
                #expect(try await transcript.waitFor(TerminalJob.interrupted), "\(transcript.output)")
                try await socket.send(Array("echo \"status=$?\"\r".utf8))
                #expect(try await transcript.waitFor("status=130"), "\(transcript.output)")
                // A signal frame goes to the shell's group: the trap reports it.
                try await socket.send(Array("trap 'echo got-usr1' USR1\r".utf8))
                try await socket.send(Array("echo armed\r".utf8))
                #expect(try await transcript.waitFor("armed\r\n"))
                try await socket.signal("USR1")
                #expect(try await transcript.waitFor("got-usr1"), "\(transcript.output)")
                try await socket.send(Array("exit 7\r".utf8))
                try await reader.value
            }
            #expect(close?.closeCode == .normalClosure)
            #expect(transcript.exit?.exitCode == 7)
            #expect(transcript.attached?.execId.hasPrefix("term-") == true)
            #expect(transcript.attached?.afterSeq == 1)
        }
    }

    @Test func reattachWithExecIdAndSinceSeq() async throws {
        try await withSpawner { (spawner: SpawnerProcess) async throws in
            let client = spawner.client
            _ = try await client.create("again")
            let first = TerminalTranscript()
            try await client.terminal("again", size: TerminalSize(cols: 80, rows: 24), logger: Self.logger) { socket, messages in
                let reader = Task { for try await message in messages { first.take(message) } }
                try await socket.send(Array("echo one-$((20+22))\r".utf8))
                #expect(try await first.waitFor("one-42"))
                reader.cancel()
                try await socket.close()
            }
            let attached = try #require(first.attached)
            // The shell is still running: re-attach after the frames already seen.
            let seen = attached.afterSeq + UInt64(first.outputFrames)
            let second = TerminalTranscript()
            let close = try await client.terminal("again", size: nil, execId: attached.execId, sinceSeq: seen, logger: Self.logger) { socket, messages in
                let reader = Task { for try await message in messages { second.take(message) } }
                try await socket.send(Array("echo two-$((50+5))\r".utf8))
                #expect(try await second.waitFor("two-55"))
                try await socket.send(Array("exit 5\r".utf8))
                try await reader.value
            }
            #expect(close?.closeCode == .normalClosure)
            #expect(second.attached == TerminalFrame.Attached(execId: attached.execId, afterSeq: seen))
            #expect(!second.output.contains("one-42"), "nothing before sinceSeq is replayed")
            #expect(second.exit?.exitCode == 5)
            // Ended: re-attaching is 404 (plain GET answers why).
            let path = SpawnerClient.terminalPath("again", size: nil, execId: attached.execId, sinceSeq: 0)
            #expect(try await client.status(.GET, path).0 == 404)
        }
    }

    @Test func authByHeadersOrPresignedQueryAndPlainGETAnswers() async throws {
        try await withSpawner { (spawner: SpawnerProcess) async throws in
            let client = spawner.client
            _ = try await client.create("auth")
            // A signed GET without the upgrade: 426; bad sizes 400; unsigned 401.
            #expect(try await client.status(.GET, "/v1/sessions/auth/terminal").0 == 426)
            #expect(try await client.status(.GET, "/v1/sessions/auth/terminal?cols=0&rows=24").0 == 400)
            #expect(try await client.status(.GET, "/v1/sessions/auth/terminal?cols=80&rows=1001").0 == 400)
            #expect(try await client.status(.GET, "/v1/sessions/nosuch/terminal").0 == 404)
            #expect(try await client.status(.GET, "/v1/sessions/auth/terminal?execId=nope").0 == 404)
            #expect(try await spawner.openGET("/v1/sessions/auth/terminal").status == 401)

            // The browser's way: no headers, the signature in the query.
            let page = client.terminalPageURL("auth")
            let query = String(page[page.index(after: page.firstIndex(of: "?")!)...]).split(separator: "&").filter { !$0.hasPrefix("session=") }.joined(separator: "&")
            let presigned = "/v1/sessions/auth/terminal?" + query
            let transcript = TerminalTranscript()
            let wsURL = spawner.baseURL.replacing("http://", with: "ws://") + presigned
            let close = try await WebSocketClient.connect(url: wsURL, logger: Self.logger) { inbound, outbound, _ in
                let reader = Task { for try await message in inbound.messages(maxSize: 1 << 20) { transcript.take(message) } }
                try await outbound.write(.binary(ByteBuffer(string: "echo presigned-ok; exit 0\r")))
                try await reader.value
            }
            #expect(close?.closeCode == .normalClosure)
            #expect(transcript.output.contains("presigned-ok"))
            #expect(transcript.exit?.exitCode == 0)
            // Tampered or expired pre-signed queries are refused (and so not upgraded).
            #expect(try await spawner.openGET(presigned.replacing("/auth/", with: "/other/")).status == 401)
            #expect(try await spawner.openGET(presigned + "&cols=100").status == 401)
            let stale = SpawnerClient(baseURL: spawner.baseURL, secret: Array(spawner.secret.utf8), now: { SpawnerClient.epochMs() - 6 * 60_000 })
            let stalePage = stale.terminalPageURL("auth")
            let staleQuery = String(stalePage[stalePage.index(after: stalePage.firstIndex(of: "?")!)...]).split(separator: "&").filter { !$0.hasPrefix("session=") }.joined(separator: "&")
            #expect(try await spawner.openGET("/v1/sessions/auth/terminal?" + staleQuery).status == 401)
        }
    }

    @Test func theCLIShellUnderARealTerminal() async throws {
        try await withSpawner { (spawner: SpawnerProcess) async throws in
            _ = try await spawner.client.create("tty")
            let tmux = Tmux()
            defer { tmux.kill() }
            let command = "SPAWNER_URL=\(spawner.baseURL) SPAWNER_SECRET=\(spawner.secret) \(TestPaths.spawner) shell tty; echo \"EXIT=$?\"; sleep 600"
            try await tmux.start(command, cols: 100, rows: 30)
            #expect(try await eventually { try await tmux.capture().contains("$") })
            try await tmux.type("stty size; tty")
            #expect(try await eventually { try await tmux.capture().contains("30 100") })
            // `tty` answers after `stty size`, maybe in a later frame: waited for too.
            #expect(try await eventually { try await tmux.capture().range(of: #"/dev/pts/[0-9]+"#, options: .regularExpression) != nil })
            // The local window changes: the remote terminal follows (SIGWINCH).
            try await tmux.resize(cols: 120, rows: 40)
            try await tmux.type("clear; stty size")
            #expect(try await eventually { try await tmux.capture().contains("40 120") })
            // Raw mode: Ctrl-C goes to the remote foreground job, not to the CLI.
            try await tmux.type(TerminalJob.command)
            #expect(try await eventually { try await tmux.capture().contains(TerminalJob.ready) })
            try await tmux.keys("C-c")
            #expect(try await eventually { try await tmux.capture().contains(TerminalJob.interrupted) })
            try await tmux.type("echo \"st=$?\"; exit 3")
            #expect(try await eventually { try await tmux.capture().contains("EXIT=3") })
            #expect(try await tmux.capture().contains("st=130"))
            try await tmux.run(["kill-server"])
        }
    }
}

/// A private tmux server (its own socket) running one window.
final class Tmux: Sendable {
    let socket = "spawner-test-\(UInt32.random(in: 0...UInt32.max))"

    /// Runs a tmux command to its end; its output (through a file: the server it may start
    /// inherits descriptors, so a pipe would never close). Spawned and reaped here directly:
    /// Foundation's `Process` left the client of `new-session -d` unreaped.
    @discardableResult
    func run(_ arguments: [String]) async throws -> String {
        let scratch = TestPaths.makeTempDir("tmux")
        defer { TestPaths.remove(scratch) }
        let out = scratch + "/out"
        let outFD = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        let devNull = open("/dev/null", O_RDWR | O_CLOEXEC)
        defer {
            close(outFD)
            close(devNull)
        }
        let environment = ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" }
        let pid = try ProcessSpawner.spawn(SpawnSpec(
            argv: ["/usr/bin/tmux", "-L", socket] + arguments, environment: environment, cwdFD: nil, stdin: devNull, stdout: outFD,
            stderr: devNull))
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) == 0 { try await Task.sleep(for: .milliseconds(5)) }
        return (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
    }

    func start(_ command: String, cols: Int, rows: Int) async throws {
        try await run(["new-session", "-d", "-s", "t", "-x", "\(cols)", "-y", "\(rows)", "bash", "--norc", "-c", command])
    }

    func type(_ text: String) async throws {
        try await run(["send-keys", "-t", "t", "-l", text])
        try await run(["send-keys", "-t", "t", "Enter"])
    }

    func keys(_ key: String) async throws { try await run(["send-keys", "-t", "t", key]) }
    func resize(cols: Int, rows: Int) async throws { try await run(["resize-window", "-t", "t", "-x", "\(cols)", "-y", "\(rows)"]) }
    func capture() async throws -> String { try await run(["capture-pane", "-t", "t", "-p"]) }

    /// Stops the server (and what runs in it).
    func kill() {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/tmux")
        process.arguments = ["-L", socket, "kill-server"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try? process.run()
    }
}
