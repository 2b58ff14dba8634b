import Foundation
import RunnerProtocol
import SpawnerClient
import Testing

/// The local backend as a laptop runs it: agents are the user's own processes (as `nobody` in
/// the `SPAWNER_TEST_USER` pass, with no uid to drop to), and Landlock is what keeps them off
/// the user's files. A home owned by the running user with a private file, two sessions, and
/// a data directory outside `/tmp` (which agents may write): an agent reads and writes its own
/// workspace and `/tmp`, and nothing of the home, the other session or its own session
/// directory. Real spawner, real runnerds, real binaries.
@Suite("Landlock on the local backend", .timeLimit(.minutes(3)))
struct LandlockOnTheLocalBackendTests {
    @Test func agentsCannotReachTheHomeOrAnotherSession() async throws {
        // Not under /tmp, which agents may write.
        var template = Array("/var/tmp/spawner-landlock-XXXXXX".utf8CString)
        let base = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
        chmod(base, 0o711)
        defer { TestPaths.remove(base) }
        // The running user's home with a file only that user may read.
        let home = base + "/home"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: false)
        try "ssh key\n".write(toFile: home + "/id_ed25519", atomically: false, encoding: .utf8)
        chmod(home, 0o700)
        chmod(home + "/id_ed25519", 0o600)
        let user = TestUser.current
        user?.own(home)
        user?.own(home + "/id_ed25519")
        let dataRoot = base + "/spawner"
        try FileManager.default.createDirectory(atPath: dataRoot, withIntermediateDirectories: false)
        chmod(dataRoot, 0o711)

        try await withSpawner(dataDir: dataRoot + "/data", user: user) { spawner in
            let client = spawner.client
            _ = try await client.create("ll-a")
            _ = try await client.create("ll-b")
            let other = spawner.dataDir + "/sessions/ll-b"
            let mine = spawner.dataDir + "/sessions/ll-a"
            let written = try await client.runShell("ll-b", "mine", "echo b > mine.txt && chmod 644 mine.txt && echo ok")
            #expect(written.stdoutText == "ok\n")

            let script = """
                try() { name=$1; shift; if "$@" >/dev/null 2>&1; then echo "$name ok"; else echo "$name denied"; fi; }
                try read-home cat "\(home)/id_ed25519"
                try list-home ls "\(home)"
                try write-home sh -c 'echo x > "\(home)/planted"'
                try read-other cat "\(other)/workspace/mine.txt"
                try list-other ls "\(other)/workspace"
                try write-session-dir sh -c 'echo x > "\(mine)/planted"'
                try read-state ls "\(mine)/state"
                try write-var-tmp sh -c 'echo x > "\(base)/planted"'
                try write-workspace sh -c 'mkdir -p d && echo x > d/f && cat d/f'
                try write-tmp sh -c 'f=$(mktemp) && echo x > "$f" && rm "$f"'
                try tools sh -c 'git --version && python3 -c "import getpass, os; print(os.getuid())" && id -u'
                """
            let events = try await client.runShell("ll-a", "attempts", script)
            var outcomes: [String: String] = [:]
            for line in events.stdoutText.split(separator: "\n") {
                let parts = line.split(separator: " ")
                if parts.count == 2 { outcomes[String(parts[0])] = String(parts[1]) }
            }
            for name in ["read-home", "list-home", "write-home", "read-other", "list-other", "write-session-dir", "read-state", "write-var-tmp"] {
                #expect(outcomes[name] == "denied", "\(name): \(events.stdoutText)")
            }
            for name in ["write-workspace", "write-tmp", "tools"] {
                #expect(outcomes[name] == "ok", "\(name): \(events.stdoutText)")
            }
            for planted in [home + "/planted", mine + "/planted", base + "/planted"] {
                #expect(!FileManager.default.fileExists(atPath: planted), "\(planted) was written")
            }
            // The spawner says what confines the session.
            let info = try await client.session("ll-a")
            #expect(info.confinement?.landlock?.enforced == true, "\(String(describing: info.confinement))")
        }
    }
}
