import Foundation
import RunnerProtocol
import SpawnerClient
@testable import SpawnerLocal
import Testing

/// As root, the local backend's agents run as another uid and reach their workspace by path:
/// a data directory under a directory others cannot search would let a command start in its
/// workspace but not `cd` inside it. The spawner refuses to start then, naming the directory.
@Suite(.timeLimit(.minutes(3))) struct AgentReachTests {
    @Test func theFirstDirectoryOthersCannotSearchIsNamed() throws {
        let modes: [String: UInt32] = ["/": 0o755, "/srv": 0o755, "/srv/private": 0o700, "/srv/private/data": 0o711, "/srv/private/data/sessions": 0o711]
        let problem = try #require(AgentReach.problem(under: "/srv/private/data/sessions") { modes[$0]! })
        #expect(problem.hasPrefix("/srv/private (mode 700) is not searchable by others"), "\(problem)")
        #expect(AgentReach.problem(under: "/srv/open/data") { $0 == "/srv/open" ? 0o711 : 0o755 } == nil)
        #expect(AgentReach.problem(under: "/") { _ in 0o700 }?.hasPrefix("/ (mode 700)") == true)
    }

    /// The real binary, as root, on a data directory inside a 0700 directory: it exits with
    /// the reason; once the directory is searchable it starts, and a session's command can
    /// make a directory and change into it.
    @Test(.enabled(if: getuid() == 0, "the check applies to a spawner running as root"))
    func aRootSpawnerRefusesADataDirectoryTheAgentCannotReach() async throws {
        let parent = TestPaths.makeTempDir("spawner-private")
        defer { TestPaths.remove(parent) }
        #expect(chmod(parent, 0o700) == 0)
        do {
            let spawner = try await SpawnerProcess.start(dataDir: parent + "/data", user: nil)
            await spawner.tearDown()
            Issue.record("the spawner started on a data directory under a 0700 directory")
        } catch let failure as SpawnerProcess.StartFailure {
            #expect(failure.status != 0)
            #expect(failure.log.contains("\(parent) (mode 700) is not searchable by others"), "\(failure.log)")
        }

        #expect(chmod(parent, 0o711) == 0)
        let spawner = try await SpawnerProcess.start(dataDir: parent + "/data", user: nil)
        do {
            let client = spawner.client
            _ = try await client.create("reach")
            let events = try await client.runShell("reach", "cd", "mkdir d && cd d && pwd")
            #expect(events.exit?.exitCode == 0, "\(String(decoding: events.stderr, as: UTF8.self))")
            #expect(events.stdoutText.hasSuffix("/workspace/d\n"))
        } catch {
            await spawner.tearDown()
            throw error
        }
        #expect(await spawner.tearDown().isEmpty)
    }
}
