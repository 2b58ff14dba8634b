import AsyncHTTPClient
import Foundation
import NIOHTTP1
import RunnerProtocol
import RunnerdClient
@testable import SpawnerCore
@testable import SpawnerDocker
import Testing
import TestSupport

/// runnerd end to end inside the built image (`runnerd-sandbox:local`), started by the engine as
/// PID 1 with the capabilities it really gets: Docker's default set, and the backend's minimum
/// set with everything else dropped, no-new-privileges and a read-only root filesystem. And the
/// minimum is a minimum: without any one of its capabilities, something runnerd must do fails.
extension DockerSuites {
    @Suite(.timeLimit(.minutes(15))) struct SandboxImageTests {
        @Test func runnerdServesWithDockersDefaultCapabilities() async throws {
            try DockerTestEnvironment.require()
            let failures = try await ImageProbe.run(capabilities: nil)
            #expect(failures == [:])
        }

        @Test func runnerdServesWithTheBackendsMinimumCapabilities() async throws {
            try DockerTestEnvironment.require()
            let failures = try await ImageProbe.run(capabilities: SandboxContainer.capabilities)
            #expect(failures == [:])
        }

        /// Each capability of the minimum: without it, something runnerd must do fails (what
        /// fails is printed; docs/docker.md lists it). When a change to runnerd makes one of
        /// them unnecessary, this fails, and the capability should go.
        @Test(arguments: SandboxContainer.capabilities)
        func eachCapabilityIsNeeded(capability: String) async throws {
            try DockerTestEnvironment.require()
            let failures = try await ImageProbe.run(capabilities: SandboxContainer.capabilities.filter { $0 != capability }, stopGracefully: false)
            #expect(!failures.isEmpty, "runnerd does everything without \(capability)")
            print("without \(capability): \(failures.keys.sorted().joined(separator: "; "))")
        }
    }
}

/// Starts the sandbox image the way the engine would for the backend (token file uploaded
/// before the start, the two volumes), and runs what runnerd must be able to do in it. Returns
/// the checks that failed, with what was seen.
enum ImageProbe {
    static let token = "image-probe-token-0123456789abcdef"

    /// `stopGracefully`: end with `docker stop` and check runnerd's exit status (else `rm -f`).
    static func run(capabilities: [String]?, stopGracefully: Bool = true) async throws -> [String: String] {
        let name = "runnerd-image-probe-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
        var create = ["create", "--name", name, "--label", "spawner.test=image-probe",
            "--mount", "type=volume,dst=\(SandboxContainer.workspacePath)", "--mount", "type=volume,dst=\(SandboxContainer.runnerdPath)",
            "-e", "RUNNERD_TOKEN_FILE=\(SandboxContainer.tokenFile)", "-e", "RUNNERD_KILL_GRACE_MS=1000"]
        if let capabilities {
            create += ["--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--read-only", "--tmpfs", "/tmp:rw,nosuid,nodev,size=64m,mode=1777"]
            for capability in capabilities { create += ["--cap-add", capability] }
        }
        create.append(DockerTestEnvironment.sandboxImage)
        defer { DockerCLI.runSync(["rm", "-f", "-v", name]) }
        let created = await DockerCLI.run(create)
        guard created.status == 0 else { throw ProbeError(description: "docker create: \(created.stderr)") }
        let copy = await DockerCLI.run(["cp", "-", "\(name):\(SandboxContainer.runnerdPath)"], input: Data(SandboxContainer.tokenArchive(token)))
        guard copy.status == 0 else { throw ProbeError(description: "docker cp: \(copy.stderr)") }
        guard await DockerCLI.run(["start", name]).status == 0 else { throw ProbeError(description: "docker start failed") }
        let address = await DockerCLI.format(name, "{{.NetworkSettings.IPAddress}}") ?? ""

        var failures: [String: String] = [:]
        let checks = Checks(runnerd: RunnerdClient(baseURL: "http://\(address):8200", token: token, httpClient: .shared))
        var running = true
        let booted = await eventually(timeout: .seconds(30)) {
            if (try? await checks.runnerd.ready()) == true { return true }
            running = await DockerCLI.format(name, "{{.State.Running}}") == "true"
            return !running
        }
        if !booted || !running {
            failures["boot"] = await DockerCLI.run(["logs", name]).stderr
            return failures
        }
        for (check, body) in checks.all {
            do {
                if let problem = try await body() { failures[check] = problem }
            } catch {
                failures[check] = "\(error)"
            }
        }
        guard stopGracefully else { return failures }
        // SIGTERM: runnerd stops and exits cleanly.
        await DockerCLI.run(["stop", "-t", "20", name])
        let exit = await DockerCLI.format(name, "{{.State.ExitCode}}")
        if exit != "0" { failures["graceful stop"] = "exit code \(exit ?? "?")" }
        return failures
    }

    struct ProbeError: Error, CustomStringConvertible {
        let description: String
    }

    /// What runnerd must do in a sandbox, each returning what went wrong (nil: fine).
    struct Checks {
        let runnerd: RunnerdClient

        var all: [(String, () async throws -> String?)] {
            [
                ("exec as the agent", execAsAgent),
                ("agent writes its workspace", { try await expectShell("mkdir -p d/e && echo s > d/e/secret && chmod 600 d/e/secret && chmod 700 d d/e && mkdir -m 1777 st && echo x > st/f && echo ok", "ok\n") }),
                ("read an agent's 0600 file", { try await expectCall(.GET, "/fs/read?path=d/e/secret", status: 200, body: "s\n") }),
                ("list an agent's 0700 directory", { try await expectCall(.GET, "/fs/list?path=d/e", status: 200, contains: "secret") }),
                ("stage over an agent's file", { try await stage("d/e/secret") }),
                ("stage into new directories, the agent's", {
                    if let problem = try await stage("new/dir/file.txt") { return problem }
                    return try await expectShell("stat -c %u new new/dir new/dir/file.txt", "10001\n10001\n10001\n")
                }),
                ("stage into a sticky directory", { try await stage("st/f") }),
                ("delete an agent's file", { try await expectCall(.POST, "/files/delete", json: #"{"paths":["d/e/secret"]}"#, status: 200, contains: #""skipped":[]"#) }),
                ("a terminal", {
                    let (code, output) = try await shell("tty; id -u", pty: TerminalSize(cols: 80, rows: 24))
                    return code == 0 && output.hasPrefix("/dev/pts/") && output.contains("10001") ? nil : "exit \(code.map(String.init) ?? "none"): \(output)"
                }),
                ("the process table", processTable),
                ("cancel", cancel),
                ("env", {
                    _ = try await runnerd.env(EnvPatch(set: ["PROBE": "yes"]))
                    return try await expectShell("echo $PROBE", "yes\n")
                }),
                ("tools", { try await expectShell("git --version >/dev/null && python3 -c 'print(1)' && curl --version >/dev/null && echo ok", "1\nok\n") }),
            ]
        }

        func shell(_ script: String, execId: String = "x\(UInt32.random(in: 0...UInt32.max))", pty: TerminalSize? = nil) async throws -> (Int32?, String) {
            var events: [ExecEvent] = []
            for try await event in try await runnerd.exec(ExecRequest(execId: execId, shell: script, timeoutMs: 30_000, pty: pty)) { events.append(event) }
            if case .fail(let fail) = events.last?.body { return (nil, "fail: \(fail.message)") }
            return (events.exit?.exitCode, events.stdoutText)
        }

        func expectShell(_ script: String, _ expected: String) async throws -> String? {
            let (code, output) = try await shell(script)
            return code == 0 && output == expected ? nil : "exit \(code.map(String.init) ?? "none"): \(output)"
        }

        func execAsAgent() async throws -> String? {
            try await expectShell("id -u; grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status | tr -d '\\t'", "10001\nCapEff:0000000000000000\nNoNewPrivs:1\nSeccomp:2\n")
        }

        func stage(_ path: String) async throws -> String? {
            let body = #"{"files":[{"path":"\#(path)","contentBase64":"\#(Data("staged".utf8).base64EncodedString())"}]}"#
            return try await expectCall(.POST, "/files/stage", json: body, status: 200, contains: #""skipped":[]"#)
        }

        func expectCall(
            _ method: HTTPMethod, _ path: String, json: String? = nil, status: Int, body expected: String? = nil, contains fragment: String? = nil
        ) async throws -> String? {
            let (code, bytes) = try await runnerd.call(method, path, body: json.map { Array($0.utf8) })
            let text = String(decoding: bytes, as: UTF8.self)
            if code != status { return "\(code): \(text)" }
            if let expected, text != expected { return text }
            if let fragment, !text.contains(fragment) { return text }
            return nil
        }

        /// A running agent shows in `GET /processes` with its exec and uid.
        func processTable() async throws -> String? {
            let execution = Task { try await shell("exec sleep 60", execId: "listed") }
            defer { execution.cancel() }
            var seen = "nothing"
            let listed = await eventually(timeout: .seconds(20)) {
                guard let (status, bytes) = try? await runnerd.call(.GET, "/processes") else { return false }
                seen = "\(status): \(String(decoding: bytes, as: UTF8.self))"
                guard status == 200, let list = try? WireJSON.decode(ProcessList.self, from: bytes) else { return false }
                return list.processes.contains { $0.execId == "listed" && $0.uid == 10001 && $0.command == ["sleep", "60"] }
            }
            _ = try? await runnerd.cancel("listed")
            return listed ? nil : "not listed: \(seen)"
        }

        func cancel() async throws -> String? {
            let execution = Task { try await shell("sleep 300", execId: "sleeper") }
            defer { execution.cancel() }
            guard await eventually(timeout: .seconds(20), { (try? await runnerd.status("sleeper"))?.state == .running }) else {
                return "the exec did not start"
            }
            let answer = try await runnerd.cancel("sleeper")
            guard answer.killed else { return "killed: false" }
            let ended = await eventually(timeout: .seconds(20)) { (try? await runnerd.status("sleeper"))?.state == .exited }
            return ended ? nil : "still running after the cancel"
        }
    }
}
