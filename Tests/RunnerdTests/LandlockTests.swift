import Foundation
import RunnerProtocol
import RunnerdClient
import Testing

/// Landlock, verified from inside real execs of a real runnerd: an agent opens only its
/// workspace, `/tmp`, a few devices (read-write) and the system paths (read, execute), whatever
/// the files' modes. Everything the test lays out is outside `/tmp` (which agents may write) and
/// readable or writable by anyone, so only Landlock can be what refuses it; the same script
/// with `RUNNERD_LANDLOCK=off` shows the refusals were Landlock's. Runs under every launch
/// profile: Landlock needs no privilege (as an ordinary user it is the only confinement).
@Suite("Landlock", .enabled(if: Landlock.available, "the kernel has no Landlock"), .timeLimit(.minutes(5)))
struct LandlockTests {
    /// A layout outside /tmp: a workspace, runnerd's state directory, a user's home with a
    /// secret, and another session's workspace with a file, all open to anyone by mode.
    struct Layout {
        let base: String
        var workspace: String { base + "/session/workspace" }
        var state: String { base + "/session/state" }
        var home: String { base + "/home" }
        var otherWorkspace: String { base + "/other/workspace" }

        init(profile: LaunchProfile) throws {
            base = RunnerdProcess.makeTempDir("runnerd-landlock", in: "/var/tmp")
            chmod(base, 0o755)
            for directory in [base + "/session", workspace, home, base + "/other", otherWorkspace] {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                chmod(directory, 0o777)
            }
            try "home secret\n".write(toFile: home + "/secret", atomically: true, encoding: .utf8)
            try "other session\n".write(toFile: otherWorkspace + "/file", atomically: true, encoding: .utf8)
            chmod(home + "/secret", 0o666)
            chmod(otherWorkspace + "/file", 0o666)
            profile.adopt(workspace)
            profile.adopt(base + "/session")
        }

        func remove() { try? FileManager.default.removeItem(atPath: base) }

        func start(_ environment: [String: String] = [:]) async throws -> RunnerdProcess {
            try await RunnerdProcess.start(
                environment: ["RUNNERD_STATE_DIR": state].merging(environment) { $1 }, workspace: workspace)
        }
    }

    /// One line per attempt: `name ok` or `name denied`, from a shell in the workspace.
    static let attempts = """
        try() { name=$1; shift; if "$@" >/dev/null 2>&1; then echo "$name ok"; else echo "$name denied"; fi; }
        try read-home cat "$BASE/home/secret"
        try list-home ls "$BASE/home"
        try write-home sh -c 'echo x > "$BASE/home/new"'
        try read-other cat "$BASE/other/workspace/file"
        try write-other sh -c 'echo x > "$BASE/other/workspace/new"'
        try list-state ls "$BASE/session/state"
        try write-base sh -c 'echo x > "$BASE/session/new"'
        try write-var-tmp sh -c 'echo x > "$BASE/../runnerd-landlock-escape-$$"'
        try write-workspace sh -c 'mkdir -p d/e && echo x > d/e/f && mv d/e/f d/g && rm -r d'
        try write-tmp sh -c 'f=$(mktemp) && echo x > "$f" && rm "$f"'
        try dev-null sh -c 'echo x > /dev/null && head -c 4 /dev/urandom > /dev/null && head -c 1 /dev/zero > /dev/null'
        try run-system sh -c 'git --version && python3 -c "import ssl, sqlite3" && ls /usr/bin > /dev/null'
        """

    static func outcomes(_ result: ExecResult) -> [String: String] {
        var outcomes: [String: String] = [:]
        for line in result.stdoutText.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2 { outcomes[String(parts[0])] = String(parts[1]) }
        }
        return outcomes
    }

    @Test func agentsReachOnlyTheWorkspaceTmpDevicesAndSystemPaths() async throws {
        let layout = try Layout(profile: .current)
        defer { layout.remove() }
        let runnerd = try await layout.start()
        let health = try await runnerd.client.health()
        #expect(health.confinement?.landlock?.enforced == true, "\(String(describing: health.confinement))")
        #expect((health.confinement?.landlock?.abi ?? 0) >= 1)
        let result = try await runnerd.client.runShell("attempts", Self.attempts) { $0.env = ["BASE": layout.base] }
        let outcomes = Self.outcomes(result)
        for name in ["read-home", "list-home", "write-home", "read-other", "write-other", "list-state", "write-base", "write-var-tmp"] {
            #expect(outcomes[name] == "denied", "\(name): \(result.stdoutText)")
        }
        for name in ["write-workspace", "write-tmp", "dev-null", "run-system"] {
            #expect(outcomes[name] == "ok", "\(name): \(result.stdoutText)")
        }
        // The error is Landlock's EACCES, whatever the mode says.
        let denied = try await runnerd.client.run("cat", ["cat", layout.home + "/secret"])
        #expect(String(decoding: denied.stderr, as: UTF8.self).contains("Permission denied"), "\(denied.events)")
        #expect(FileManager.default.fileExists(atPath: layout.home + "/new") == false)
        await runnerd.stop()
    }

    /// The control: the same attempts without Landlock succeed (the modes allow them), and
    /// `/healthz` says Landlock is missing and why.
    @Test func withLandlockOffTheSameAttemptsSucceedAndHealthzSaysSo() async throws {
        let layout = try Layout(profile: .current)
        defer { layout.remove() }
        let runnerd = try await layout.start(["RUNNERD_LANDLOCK": "off"])
        let landlock = try await runnerd.client.health().confinement?.landlock
        #expect(landlock?.enforced == false)
        #expect(landlock?.missing == "RUNNERD_LANDLOCK=off", "\(String(describing: landlock))")
        #expect(runnerd.log.contains("Landlock off"), "a warning at boot")
        let result = try await runnerd.client.runShell("attempts", Self.attempts) { $0.env = ["BASE": layout.base] }
        let outcomes = Self.outcomes(result)
        for name in ["read-home", "list-home", "write-home", "read-other", "write-other", "write-base"] {
            #expect(outcomes[name] == "ok", "\(name): \(result.stdoutText)")
        }
        await runnerd.stop()
    }

    /// Tools that open devices and terminals by name: a PTY exec, `/dev/tty`, `/dev/shm`.
    @Test func terminalsAndSharedMemoryWork() async throws {
        let layout = try Layout(profile: .current)
        defer { layout.remove() }
        let runnerd = try await layout.start()
        let script = "tty >/dev/null && echo tty-ok; stty size; echo x > /dev/tty && echo devtty-ok; "
            + "python3 -c 'from multiprocessing import shared_memory as s; m = s.SharedMemory(create=True, size=64); m.close(); m.unlink(); print(\"shm-ok\")'"
        let result = try await runnerd.client.runShell("pty", script) { $0.pty = TerminalSize(cols: 80, rows: 24) }
        let text = result.stdoutText
        for marker in ["tty-ok", "24 80", "devtty-ok", "shm-ok"] {
            #expect(text.contains(marker), "\(marker): \(text)")
        }
        await runnerd.stop()
    }
}

enum Landlock {
    /// Whether this kernel has Landlock (the shim asks it: `--landlock-abi`).
    static let available: Bool = {
        guard (try? ProductionShim.ensure()) != nil else { return false }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ProductionShim.path)
        process.arguments = ["--landlock-abi"]
        let pipe = Pipe()
        process.standardOutput = pipe
        guard (try? process.run()) != nil else { return false }
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (Int(String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) > 0
    }()
}
