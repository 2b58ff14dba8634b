import Foundation
import Glibc
import SystemSupport
import TestSupport
import Testing

/// Whether the docker tests can run here: an engine must answer on the socket and the runtime
/// images (`bash scripts/images`) must exist. Outside CI a missing engine skips them with the
/// reason printed; in CI (`CI=true`) they run anyway and fail on the first thing missing,
/// because a test of the container isolation that cannot run must not pass silently.
enum DockerTestEnvironment {
    /// `SPAWNER_TEST_SANDBOX_IMAGE` tests another build of the sandbox image (a worktree's own
    /// tag) without replacing the shared one.
    static let sandboxImage = ProcessInfo.processInfo.environment["SPAWNER_TEST_SANDBOX_IMAGE"] ?? "runnerd-sandbox:local"
    static let spawnerImage = "spawner:local"
    /// The sandbox network the tests' host spawners use (compose uses its own).
    static let network = "spawner-test-sandboxes"

    static var inCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// Why the docker tests cannot run; nil when they can.
    static let problem: String? = {
        let version = DockerCLI.runSync(["version", "--format", "{{.Server.Version}}"])
        guard version.status == 0 else {
            return "no Docker engine answers (\(version.stderr.trimmingCharacters(in: .whitespacesAndNewlines))); "
                + "scripts/test-prereqs/docker.sh starts one"
        }
        for image in [sandboxImage, spawnerImage] where DockerCLI.runSync(["image", "inspect", image]).status != 0 {
            return "image \(image) is missing (bash scripts/images)"
        }
        removeStaleLeftovers()
        return nil
    }()

    /// What a test process that died mid-test left on the engine (its scopes start with `test-`,
    /// its compose projects with `spawnertest`), once it is an hour old: never what a test
    /// running right now in another process has made.
    static func removeStaleLeftovers() {
        let listing = DockerCLI.runSync(["ps", "-a", "--format", "{{.ID}}\t{{.CreatedAt}}\t{{.Label \"spawner.scope\"}}\t{{.Label \"com.docker.compose.project\"}}"])
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss Z"
        var stale: [String] = []
        var scopes: Set<String> = []
        var projects: Set<String> = []
        for line in listing.stdout.split(separator: "\n") {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 4, fields[2].hasPrefix("test-") || fields[3].hasPrefix("spawnertest") else { continue }
            // "2026-11-30 16:21:05 +0000 UTC"
            guard let created = formatter.date(from: fields[1].split(separator: " ").prefix(3).joined(separator: " ")),
                Date().timeIntervalSince(created) > 3600
            else { continue }
            stale.append(fields[0])
            if !fields[2].isEmpty { scopes.insert(fields[2]) }
            if !fields[3].isEmpty { projects.insert(fields[3]) }
        }
        guard !stale.isEmpty else { return }
        DockerCLI.runSync(["rm", "-f", "-v"] + stale)
        for scope in scopes { DockerCLI.removeAll(scope: scope) }
        let volumes = DockerCLI.runSync(["volume", "ls", "-q"]).stdout.split(separator: "\n").map(String.init)
            .filter { volume in projects.contains { volume.hasPrefix($0 + "_") } }
        if !volumes.isEmpty { DockerCLI.runSync(["volume", "rm"] + volumes) }
        for project in projects { DockerCLI.runSync(["network", "rm", project + "_default"]) }
    }

    /// The pass of `scripts/test` that runs the spawner as an ordinary user (SPAWNER_TEST_USER)
    /// is about the local backend; the docker tests run in the pass as root.
    static var otherPass: String? {
        ProcessInfo.processInfo.environment["SPAWNER_TEST_USER"].map { "the spawner runs as \($0) in this pass; the docker tests run in the pass as root" }
    }

    /// The trait of every docker test: enabled when the engine is there, or in CI.
    static var enabled: Bool { otherPass == nil && (problem == nil || inCI) }

    /// Why they are skipped, for the trait's comment.
    static var skipReason: String { otherPass ?? problem ?? "" }

    /// Fails the test (in CI) when the engine or the images are missing.
    static func require(sourceLocation: SourceLocation = #_sourceLocation) throws {
        if let problem {
            Issue.record("docker tests cannot run: \(problem)", sourceLocation: sourceLocation)
            throw DockerUnavailable(reason: problem)
        }
    }

    struct DockerUnavailable: Error, CustomStringConvertible {
        let reason: String
        var description: String { reason }
    }
}

/// The `docker` CLI, for what a test checks from outside the spawner (`docker inspect`,
/// `docker kill`); the backend itself never runs it. The calls wait on a thread of their own,
/// not on the tests' cooperative pool (two threads on a two-core machine).
enum DockerCLI {
    struct Result: Sendable {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// A command line to run, with its environment (nil: this process's) and directory.
    struct Command: Sendable {
        var argv: [String]
        var environment: [String: String]?
        var directory: String?
    }

    @discardableResult
    static func run(_ arguments: [String], input: Data? = nil) async -> Result {
        await collect(command(["docker"] + arguments), input: input)
    }

    /// The same, blocking (for `defer` blocks and static properties).
    @discardableResult
    static func runSync(_ arguments: [String], input: Data? = nil) -> Result {
        collectSync(command(["docker"] + arguments), input: input)
    }

    /// `argv` found on PATH.
    static func command(_ argv: [String], environment: [String: String]? = nil, directory: String? = nil) -> Command {
        Command(argv: argv, environment: environment, directory: directory)
    }

    /// Runs a command to its end on a dispatch thread; its output collected.
    static func collect(_ command: Command, input: Data? = nil) async -> Result {
        (try? await blocking { collectSync(command, input: input) }) ?? Result(status: -1, stdout: "", stderr: "not run")
    }

    /// posix_spawn (SystemSupport's, as the products use), not Foundation's `Process`: no
    /// descriptor of this process but the three pipes reaches the child.
    static func collectSync(_ command: Command, input: Data? = nil) -> Result {
        do {
            let stdin = try Syscall.pipe()
            let stdout = try Syscall.pipe()
            let stderr = try Syscall.pipe()
            let directory = try command.directory.map { try Syscall.open($0, O_RDONLY | O_DIRECTORY) }
            defer { if let directory { Syscall.close(directory) } }
            let environment = (command.environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
            var spec = SpawnSpec(
                argv: ["/usr/bin/env"] + command.argv, environment: environment, cwdFD: directory, stdin: stdin.read, stdout: stdout.write,
                stderr: stderr.write)
            spec.closeOtherDescriptors = true
            let pid: pid_t
            do {
                pid = try ProcessSpawner.spawn(spec)
            } catch {
                for fd in [stdin.read, stdin.write, stdout.read, stdout.write, stderr.read, stderr.write] { Syscall.close(fd) }
                throw error
            }
            for fd in [stdin.read, stdout.write, stderr.write] { Syscall.close(fd) }
            if let input { try? Syscall.writeAll(stdin.write, Array(input)) }
            Syscall.close(stdin.write)
            let (out, err) = drain(stdout.read, stderr.read)
            let status = ProcessSpawner.waitForExit(pid)
            return Result(status: status.exitCode, stdout: String(decoding: out, as: UTF8.self), stderr: String(decoding: err, as: UTF8.self))
        } catch {
            return Result(status: -1, stdout: "", stderr: "\(error)")
        }
    }

    /// Reads both descriptors to their end (poll, so neither pipe can fill up and block the
    /// child), then closes them.
    private static func drain(_ first: CInt, _ second: CInt) -> ([UInt8], [UInt8]) {
        var outputs: [CInt: [UInt8]] = [first: [], second: []]
        var open = [first, second]
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !open.isEmpty {
            var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            if poll(&fds, nfds_t(fds.count), -1) < 0 {
                if errno == EINTR { continue }
                break
            }
            for entry in fds where entry.revents != 0 {
                let count = buffer.withUnsafeMutableBytes { read(entry.fd, $0.baseAddress, $0.count) }
                if count > 0 {
                    outputs[entry.fd, default: []] += buffer[0..<count]
                } else if count == 0 || errno != EINTR {
                    open.removeAll { $0 == entry.fd }
                }
            }
        }
        Syscall.close(first)
        Syscall.close(second)
        return (outputs[first] ?? [], outputs[second] ?? [])
    }

    /// `docker inspect` of an object as text; nil when it does not exist.
    static func inspect(_ name: String, type: String = "container") async -> String? {
        let result = await run(["inspect", "--type", type, name])
        return result.status == 0 ? result.stdout : nil
    }

    /// A Go template evaluated on a container (`docker inspect -f`).
    static func format(_ container: String, _ template: String) async -> String? {
        let result = await run(["inspect", "--type", "container", "-f", template, container])
        return result.status == 0 ? result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) : nil
    }

    /// Names of containers (all states) or volumes with a label.
    static func names(_ kind: String, label: String) async -> [String] {
        listing(kind, label: label, await run(listArguments(kind, label: label)))
    }

    private static func listArguments(_ kind: String, label: String) -> [String] {
        kind == "container"
            ? ["ps", "-a", "--filter", "label=\(label)", "--format", "{{.Names}}"]
            : ["volume", "ls", "--filter", "label=\(label)", "--format", "{{.Name}}"]
    }

    private static func listing(_ kind: String, label: String, _ result: Result) -> [String] {
        result.stdout.split(separator: "\n").map(String.init).sorted()
    }

    /// Every container and volume of a spawner scope: what must be gone after a test.
    static func leftovers(scope: String) async -> [String] {
        await names("container", label: "spawner.scope=\(scope)").map { "container \($0)" }
            + names("volume", label: "spawner.scope=\(scope)").map { "volume \($0)" }
    }

    /// Removes every container and volume of a scope (the cleanup after a test), blocking.
    static func removeAll(scope: String) {
        let label = "spawner.scope=\(scope)"
        let containers = listing("container", label: label, runSync(listArguments("container", label: label)))
        if !containers.isEmpty { runSync(["rm", "-f"] + containers) }
        let volumes = listing("volume", label: label, runSync(listArguments("volume", label: label)))
        if !volumes.isEmpty { runSync(["volume", "rm", "-f"] + volumes) }
    }
}
