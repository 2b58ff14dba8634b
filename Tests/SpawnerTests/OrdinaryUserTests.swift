import Foundation
import RunnerProtocol
import SpawnerClient
import Testing

/// The embedded local backend as a laptop user runs it: the spawner and its runnerds as an
/// ordinary user, no root, no capability. Runs in every test run (whatever
/// `SPAWNER_TEST_USER` the rest of the suite uses); setting it up needs root, which CI has.
@Suite("local backend as an ordinary user", .timeLimit(.minutes(3)))
struct OrdinaryUserTests {
    @Test func sessionsWorkWithoutRoot() async throws {
        try #require(getuid() == 0, "starting the spawner as another user needs root (CI runs as root)")
        let user = try #require(TestUser.named("nobody"), "Debian's nobody user")
        try await withSpawner(user: user) { (spawner: SpawnerProcess) async throws in
            let own = try #require(ProcessScan.status(spawner.pid))
            #expect(own["Uid"]?.split(separator: "\t").first == "\(user.uid)", "the spawner runs as \(user.name)")
            #expect(own["CapEff"] == "0000000000000000")

            let client = spawner.client
            let created = try await client.create("plain-user", env: ["GREETING": "hello"])
            #expect(created.state == .ready)
            let runnerd = try #require(spawner.runnerdProcesses.first)
            #expect(ProcessScan.status(runnerd)?["Uid"]?.split(separator: "\t").first == "\(user.uid)")

            // Commands run, as the user (runnerd cannot switch to an agent uid without root),
            // still confined by no_new_privs and the seccomp filter.
            let status = try await client.run("plain-user", ExecRequest(execId: "status", command: ["cat", "/proc/self/status"], timeoutMs: 30_000))
            #expect(status.exit?.exitCode == 0)
            let fields = ProcessScan.statusFields(status.stdoutText)
            #expect(fields["Uid"]?.split(separator: "\t").allSatisfy { $0 == Substring("\(user.uid)") } == true)
            #expect(fields["NoNewPrivs"] == "1")
            #expect(fields["Seccomp"] == "2")
            #expect(try await client.runShell("plain-user", "env", "printf %s \"$GREETING\"").stdoutText == "hello")

            // Attach replays, files go through the proxy.
            let replay = try await client.attach("plain-user", "env")
            var replayed: [ExecEvent] = []
            for try await event in replay { replayed.append(event) }
            #expect(replayed.exit?.exitCode == 0)
            let staged: StageResponse = try await client.json(
                .POST, "/v1/sessions/plain-user/files/stage", body: StageRequest(files: [StageFile(path: "a/b.txt", contentBase64: "aGk=")]))
            #expect(staged.staged.map(\.path) == ["a/b.txt"], "skipped: \(staged.skipped)")
            let (readStatus, _, bytes) = try await client.call(.GET, "/v1/sessions/plain-user/fs/read?path=a/b.txt")
            #expect(readStatus == 200)
            #expect(bytes == Array("hi".utf8))

            try await client.deleteSession("plain-user")
            #expect(spawner.runnerdProcesses.isEmpty)
            #expect(spawner.sessionDirectories.isEmpty)
        }
    }
}
