import ConformanceKit
import Foundation
import Testing
import TestSupport

/// The spawner suite against this project's spawner (local backend, its real runnerds), with
/// caps configured and a restart hook (SIGKILL, then the same spawner again on the same port
/// and data): every check passes, none is skipped.
@Suite("spawner conformance suite", .serialized, .timeLimit(.minutes(15)))
struct SpawnerSuiteTests {
    /// A spawner started from a script, so that the restart hook can start it again.
    struct Spawner {
        let dir: String
        let port: Int
        var url: String { "http://127.0.0.1:\(port)" }
        var secretFile: String { dir + "/secret" }
        var hook: String { "/bin/sh \(dir)/restart.sh" }

        static func start() async throws -> Spawner {
            try Binaries.shim.get()
            let dir = Binaries.makeTempDir("conformance-spawner")
            let port = Binaries.freePort()
            let secret = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
            try (secret + "\n").write(toFile: dir + "/secret", atomically: true, encoding: .utf8)
            chmod(dir + "/secret", 0o600)
            let env: [String: String] = [
                "SPAWNER_LISTEN": "127.0.0.1:\(port)", "SPAWNER_SECRET_FILE": dir + "/secret", "SPAWNER_DATA_DIR": dir + "/data",
                "SPAWNER_READY_FILE": dir + "/ready.json", "SPAWNER_READY_TIMEOUT_MS": "60000", "SPAWNER_RUNNERD_KILL_GRACE_MS": "1000",
                "SPAWNER_MAX_SESSIONS": "8", "SPAWNER_MAX_SESSIONS_PER_ORG": "3", "SPAWNER_MAX_SESSIONS_PER_OWNER": "2",
                "SPAWNER_BACKEND": "local",
            ]
            let exports = env.sorted { $0.key < $1.key }.map { "export \($0.key)='\($0.value)'" }.joined(separator: "\n")
            let start = """
                #!/bin/sh
                # Starts the spawner in the background (its pid in pid), waits until it announces its port.
                \(exports)
                rm -f "\(dir)/ready.json"
                "\(Binaries.directory)/spawner" serve >> "\(dir)/spawner.log" 2>&1 &
                echo $! > "\(dir)/pid"
                i=0
                while [ ! -s "\(dir)/ready.json" ]; do
                    i=$((i+1)); [ $i -gt 1200 ] && exit 1
                    kill -0 "$(cat "\(dir)/pid")" 2>/dev/null || exit 1
                    sleep 0.05
                done
                """
            let restart = """
                #!/bin/sh
                # The restart hook: SIGKILL (nothing cleaned up), wait until it is gone, start again.
                pid=$(cat "\(dir)/pid")
                kill -9 "$pid"
                while [ -e "/proc/$pid" ] && ! grep -q ') Z' "/proc/$pid/stat" 2>/dev/null; do sleep 0.05; done
                exec /bin/sh "\(dir)/start.sh"
                """
            try start.write(toFile: dir + "/start.sh", atomically: true, encoding: .utf8)
            try restart.write(toFile: dir + "/restart.sh", atomically: true, encoding: .utf8)
            let status = try Binaries.run(["/bin/sh", dir + "/start.sh"])
            guard status == 0 else { throw TestFailure("the spawner did not start: \((try? String(contentsOfFile: dir + "/spawner.log", encoding: .utf8)) ?? "")") }
            return Spawner(dir: dir, port: port)
        }

        var log: String { (try? String(contentsOfFile: dir + "/spawner.log", encoding: .utf8)) ?? "" }

        /// Stops the spawner and every runnerd of its data directory (found by their command
        /// lines, killed by pid), removes the directory.
        func stop() {
            if let pid = (try? String(contentsOfFile: dir + "/pid", encoding: .utf8)).flatMap({ Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) {
                kill(pid, SIGKILL)
            }
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
                guard let pid = Int32(entry), let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { continue }
                if String(decoding: data, as: UTF8.self).contains(dir + "/data") { kill(pid, SIGKILL) }
            }
            _ = try? Binaries.run(["/bin/rm", "-rf", dir])
        }
    }

    @Test func theRealSpawnerConforms() async throws {
        let spawner = try await Spawner.start()
        defer { spawner.stop() }
        let (lines, status) = try await runSuiteBinary("spawner-conformance", [
            "--url", spawner.url, "--secret-file", spawner.secretFile, "--owner-cap", "2", "--org-cap", "3", "--session-cap", "8",
            "--restart-hook", spawner.hook,
        ])
        let failed = lines.filter { $0.hasPrefix("FAIL ") }
        #expect(failed.isEmpty, "\(failed.joined(separator: "\n"))\n--- spawner log:\n\(spawner.log.suffix(3000))")
        #expect(lines.last?.hasSuffix("0 failed, 0 skipped") == true, "\(lines.joined(separator: "\n"))")
        #expect(status == 0)
    }

    /// A spawner that takes a wrong secret's signatures does not exist here; a wrong secret at the
    /// suite's side stands in for it: every signed check fails, the open ones pass.
    @Test func aWrongSecretFailsTheSignedChecks() async throws {
        let spawner = try await Spawner.start()
        defer { spawner.stop() }
        let wrong = spawner.dir + "/wrong-secret"
        try "not-the-secret-but-long-enough-for-hmac\n".write(toFile: wrong, atomically: true, encoding: .utf8)
        let (lines, status) = try await runSuiteBinary("spawner-conformance", ["--url", spawner.url, "--secret-file", wrong, "--only", "healthz.open,hmac.valid"])
        #expect(lines == ["PASS healthz.open", lines.count > 1 ? lines[1] : "", "1 passed, 1 failed, 0 skipped"] && lines[1].hasPrefix("FAIL hmac.valid"), "\(lines)")
        #expect(status == 1)
    }
}
