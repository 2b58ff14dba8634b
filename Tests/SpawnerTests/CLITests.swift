import Foundation
import RunnerProtocol
import Testing
import TestSupport

/// The `spawner` client commands, run as a user would, against a real spawner.
@Suite(.timeLimit(.minutes(10))) struct CLITests {
    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `spawner ARGS…` with SPAWNER_URL and SPAWNER_SECRET of `spawner`.
    static func cli(_ spawner: SpawnerProcess, _ arguments: [String], secret: String? = nil, stdin: String? = nil) async throws -> Outcome {
        try await cli(url: spawner.baseURL, secret: secret ?? spawner.secret, arguments, stdin: stdin)
    }

    /// Runs `spawner ARGS…` with SPAWNER_URL `url` and SPAWNER_SECRET `secret` (and `extra`).
    static func cli(url: String, secret: String, _ arguments: [String], stdin: String? = nil, extra: [String: String] = [:]) async throws -> Outcome {
        let scratch = TestPaths.makeTempDir("spawner-cli")
        defer { TestPaths.remove(scratch) }
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SPAWNER_") }
        environment["SPAWNER_URL"] = url
        environment["SPAWNER_SECRET"] = secret
        environment.merge(extra) { $1 }
        // Files, not pipes: nothing to drain while waiting.
        let out = scratch + "/out", err = scratch + "/err"
        var input = ChildProcess.Stream.null
        if let stdin {
            try stdin.write(toFile: scratch + "/in", atomically: true, encoding: .utf8)
            input = .file(scratch + "/in")
        }
        let process = try ChildProcess([TestPaths.spawner] + arguments, environment: environment, stdin: input, stdout: .file(out), stderr: .file(err))
        while process.isRunning { try await Task.sleep(for: .milliseconds(10)) }
        return Outcome(
            status: process.terminationStatus, stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
    }

    @Test func execExitsWithTheCommandsStatusAndStreamsBothOutputs() async throws {
        try await withSpawner { (spawner: SpawnerProcess) async throws in
            let created = try await Self.cli(spawner, ["create", "cli", "--owner", "user:carol", "--org", "acme"])
            #expect(created.status == 0)
            #expect(created.stdout == "cli\n")

            let run = try await Self.cli(spawner, ["exec", "cli", "--", "sh", "-c", "echo to-out; echo to-err >&2; exit 7"])
            #expect(run.status == 7)
            #expect(run.stdout == "to-out\n")
            #expect(run.stderr == "to-err\n")

            #expect(try await Self.cli(spawner, ["exec", "cli", "--", "true"]).status == 0)
            let killed = try await Self.cli(spawner, ["exec", "cli", "--shell", "--", "kill -TERM $$"])
            #expect(killed.status == 128 + 15)
            let missing = try await Self.cli(spawner, ["exec", "cli", "--", "/no/such/binary"])
            #expect(missing.status == 127)
        }
    }

    @Test func sessionEnvCopyAndAttachCommands() async throws {
        try await withSpawner { (spawner: SpawnerProcess) async throws in
            #expect(try await Self.cli(spawner, ["create", "tools"]).status == 0)
            let listed = try await Self.cli(spawner, ["ls"])
            #expect(listed.status == 0)
            #expect(listed.stdout.contains("tools"))
            #expect(listed.stdout.contains("ready"))

            #expect(try await Self.cli(spawner, ["env", "tools", "COLOR=green"]).status == 0)
            let denied = try await Self.cli(spawner, ["env", "tools", "PATH=/nope"])
            #expect(denied.status == 1)
            #expect(denied.stderr.contains("PATH"))
            let echoed = try await Self.cli(spawner, ["exec", "tools", "--exec-id", "colors", "--shell", "--", "echo $COLOR"])
            #expect(echoed.stdout == "green\n")
            let attached = try await Self.cli(spawner, ["attach", "tools", "colors"])
            #expect(attached.status == 0)
            #expect(attached.stdout == "green\n")

            let piped = try await Self.cli(spawner, ["exec", "tools", "-i", "--", "tr", "a-z", "A-Z"], stdin: "shout\n")
            #expect(piped.stdout == "SHOUT\n")

            #expect(try await Self.cli(spawner, ["rm", "tools"]).status == 0)
            #expect(try await Self.cli(spawner, ["ls", "--json"]).stdout.contains(#""sessions":[]"#))
            #expect(try await Self.cli(spawner, ["rm", "tools"]).status == 0)
        }
    }

    @Test func clientErrorsExit125() async throws {
        try await withSpawner { (spawner: SpawnerProcess) async throws in
            let wrong = try await Self.cli(spawner, ["ls"], secret: TestPaths.makeSecret())
            #expect(wrong.status == 125)
            #expect(wrong.stderr.contains("unauthorized"))
            let missing = try await Self.cli(spawner, ["exec", "nope", "--", "true"])
            #expect(missing.status == 125)
            #expect(missing.stderr.contains("404"))
            let short = try await Self.cli(spawner, ["ls"], secret: "too-short")
            #expect(short.status != 0)
            #expect(short.stderr.contains("32"))
        }
    }

    /// A spawner that is not running is reported at once, not after async-http-client's
    /// retries until the deadline (90 s, which the one-minute limit fails).
    @Test(.timeLimit(.minutes(1))) func aSpawnerThatIsNotRunningIsReportedAsRefused() async throws {
        // A bound socket that does not listen: connecting to its port is refused, and the port
        // stays taken for the test.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        #expect(bound)
        let port = Int(UInt16(bigEndian: address.sin_port))
        for arguments in [["ls"], ["create", "nobody-home"], ["exec", "nobody-home", "--", "true"]] {
            let run = try await Self.cli(url: "http://127.0.0.1:\(port)", secret: TestPaths.makeSecret(), arguments)
            #expect(run.status == 125, "\(arguments)")
            #expect(run.stderr.hasPrefix("spawner: cannot reach the spawner: Connection refused"), "\(arguments): \(run.stderr)")
        }
    }

    @Test func helpReadsWell() async throws {
        try await withSpawner { (spawner: SpawnerProcess) async throws in
            let help = try await Self.cli(spawner, ["--help"])
            #expect(help.status == 0)
            for command in ["serve", "create", "ls", "rm", "exec", "attach", "env", "cp"] {
                #expect(help.stdout.contains("  \(command) "), "no \(command) in --help")
            }
            let exec = try await Self.cli(spawner, ["exec", "--help"])
            #expect(exec.stdout.contains("127") && exec.stdout.contains("125") && exec.stdout.contains("--shell"))
        }
    }
}
