import Foundation
import RunnerProtocol
import SpawnerClient
import Synchronization
import Testing
import TestSupport

/// runnerd's terminals, signals, process table and file watch through the spawner (contract
/// §3): proxied as they are, the watch as Server-Sent Events; and the CLI commands for them.
@Suite(.timeLimit(.minutes(10))) struct InteractiveProxyTests {
    @Test func resizeSignalsAndTheProcessTableAreProxied() async throws {
        try await withSpawner { (spawner: SpawnerProcess) async throws in
            let client = spawner.client
            _ = try await client.create("inter")
            let output = Mutex("")
            let exec = Task { () async throws -> ExecEvent.Exit? in
                let request = ExecRequest(
                    execId: "term", shell: "trap 'echo \"winch $(stty size)\"' WINCH; trap 'echo got-usr1' USR1; echo ready; while :; do sleep 0.05; done",
                    timeoutMs: 60_000, pty: TerminalSize(cols: 80, rows: 24))
                for try await event in try await client.exec("inter", request) {
                    if case .stdout(let bytes) = event.body { output.withLock { $0 += String(decoding: bytes, as: UTF8.self) } }
                    if case .exit(let exit) = event.body { return exit }
                }
                return nil
            }
            #expect(try await eventually { output.withLock { $0.contains("ready") } })
            #expect(try await client.resize("inter", "term", TerminalSize(cols: 120, rows: 40)).ok)
            #expect(try await eventually { output.withLock { $0.contains("winch 40 120") } })
            #expect(try await client.signal("inter", "term", "SIGUSR1").signaled)
            #expect(try await eventually { output.withLock { $0.contains("got-usr1") } })
            // runnerd's answers come through as they are.
            #expect(try await client.status(.POST, "/v1/sessions/inter/execs/term/resize", body: Array(#"{"cols":0,"rows":5}"#.utf8)).0 == 400)
            #expect(try await client.status(.POST, "/v1/sessions/inter/execs/nobody/signal", body: Array(#"{"signal":"INT"}"#.utf8)).0 == 404)
            #expect(try await client.status(.POST, "/v1/sessions/inter/execs/term/signal", body: Array(#"{"signal":"SEGV"}"#.utf8)).0 == 400)

            let list = try await client.processes("inter")
            let shell = try #require(list.processes.first { $0.execId == "term" && $0.pid == $0.pgid })
            #expect(try await client.status(.POST, "/v1/sessions/inter/processes/abc/signal", body: Array(#"{"signal":"INT"}"#.utf8)).0 == 400)
            #expect(try await client.status(.POST, "/v1/sessions/inter/processes/1/signal", body: Array(#"{"signal":"INT"}"#.utf8)).0 == 404)
            #expect(try await client.signalProcess("inter", shell.pid, "KILL").signaled)
            let exit = try await exec.value
            #expect(exit?.signal == "SIGKILL")
            // Unsigned: 401 like every /v1 route.
            let unsigned = try await spawner.openGET("/v1/sessions/inter/processes")
            #expect(unsigned.status == 401)
        }
    }

    @Test func fileWatchIsServerSentEvents() async throws {
        try await withSpawner { (spawner: SpawnerProcess) async throws in
            let client = spawner.client
            _ = try await client.create("watched")
            let response = try await client.send(.GET, SpawnerClient.watchPath("watched", path: "", recursive: true), timeout: .seconds(120))
            #expect(response.status == .ok)
            #expect(response.headers.first(name: "content-type") == "text/event-stream")
            let messages = Mutex<[SSEMessage]>([])
            let reader = Task {
                for try await message in SSEMessageSequence(response.body) { messages.withLock { $0.append(message) } }
            }
            #expect(try await eventually { messages.withLock { !$0.isEmpty } })
            // A new directory's watch is added when its creation is read: wait for it.
            #expect(try await client.runShell("watched", "mk", "mkdir d").exit?.exitCode == 0)
            #expect(try await eventually { messages.withLock { $0.contains { String(decoding: $0.data, as: UTF8.self).contains(#""path":"d""#) } } })
            #expect(try await client.runShell("watched", "w", "printf x > d/f && mv d/f d/g").exit?.exitCode == 0)
            #expect(try await eventually { messages.withLock { $0.contains { String(decoding: $0.data, as: UTF8.self).contains(#""op":"rename""#) } } })
            reader.cancel()
            let all = messages.withLock { $0 }
            let events = try all.map { try WireJSON.decode(FsWatchEvent.self, from: $0.data) }
            #expect(all.allSatisfy { $0.event == "fs" })
            #expect(zip(all, events).allSatisfy { $0.id == String($1.seq) }, "id: is the seq")
            #expect(events.first?.t == .watching)
            let summary = events.filter { $0.t == .fs }.map { "\($0.op!.rawValue) \($0.path!)" }
            #expect(summary == ["create d", "create d/f", "write d/f", "rename d/g"], "\(summary)")
            // A bad path is runnerd's answer.
            #expect(try await client.status(.GET, "/v1/sessions/watched/fs/watch?path=..%2F..").0 == 400)
            #expect(try await client.status(.GET, "/v1/sessions/watched/fs/watch?path=missing").0 == 404)
        }
    }

    @Test func cliListsAndStopsALeftoverServerAndWatches() async throws {
        try await withSpawner { (spawner: SpawnerProcess) async throws in
            let client = spawner.client
            _ = try await client.create("cli-ps")
            let started = try await client.runShell("cli-ps", "srv", "sleep 300 >/dev/null 2>&1 & echo $!")
            let pid = try #require(Int32(started.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)))
            let ps = try await CLITests.cli(spawner, ["ps", "cli-ps"])
            #expect(ps.status == 0)
            let line = try #require(ps.stdout.split(separator: "\n").first { $0.hasPrefix("\(pid) ") }, "\(ps.stdout)")
            #expect(line.hasSuffix("sleep 300"))
            #expect(line.contains(" - "), "no exec: it ended")
            #expect(try await CLITests.cli(spawner, ["kill", "cli-ps", "\(pid)", "-s", "KILL"]).status == 0)
            #expect(try await eventually { !(try await client.processes("cli-ps").processes.contains { $0.pid == pid }) })
            #expect(try await CLITests.cli(spawner, ["kill", "cli-ps", "1"]).status == 125, "PID 1 is refused (404)")
            #expect(try await CLITests.cli(spawner, ["kill", "cli-ps", "--exec", "srv"]).status == 1, "the exec has ended")
            #expect(try await CLITests.cli(spawner, ["kill", "cli-ps", "-s", "BOGUS", "5"]).status != 0)

            // `spawner watch` prints a line per change as it happens.
            let scratch = TestPaths.makeTempDir("spawner-watch")
            defer { TestPaths.remove(scratch) }
            let out = scratch + "/out"
            _ = FileManager.default.createFile(atPath: out, contents: nil)
            let watcher = Process()
            watcher.executableURL = URL(fileURLWithPath: TestPaths.spawner)
            watcher.arguments = ["watch", "cli-ps"]
            var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SPAWNER_") }
            environment["SPAWNER_URL"] = spawner.baseURL
            environment["SPAWNER_SECRET"] = spawner.secret
            watcher.environment = environment
            watcher.standardOutput = FileHandle(forWritingAtPath: out)
            watcher.standardError = FileHandle.nullDevice
            try watcher.run()
            defer { if watcher.isRunning { watcher.terminate() } }
            func printed() -> String { (try? String(contentsOfFile: out, encoding: .utf8)) ?? "" }
            // Until the watch is armed, changes are not seen: touch until one is.
            #expect(try await eventually {
                _ = try await client.runShell("cli-ps", "t-\(UInt32.random(in: 0...UInt32.max))", "rm -f probe; touch probe")
                return printed().contains("create file probe")
            })
            _ = try await client.runShell("cli-ps", "mv", "mv probe moved")
            #expect(try await eventually { printed().contains("rename file moved (from probe)") }, "\(printed())")
            watcher.terminate()
        }
    }
}
