import Foundation
import RunnerdClient
import Testing

/// The token cannot reach the agent: no --token flag (argv is public), and a token file the
/// agent could read is refused at boot with a message that says why.
@Suite("runnerd token file", .timeLimit(.minutes(3)))
struct TokenFileTests {
    static func tokenFile(in directory: String, mode: mode_t) throws -> String {
        let path = directory + "/token"
        try "file-token\n".write(toFile: path, atomically: false, encoding: .utf8)
        chmod(path, mode)
        return path
    }

    static func expectRefused(environment: [String: String] = [:], arguments: [String] = [], workspace: String? = nil, saying message: String) async {
        do {
            let runnerd = try await RunnerdProcess.start(token: nil, environment: environment, arguments: arguments, workspace: workspace)
            Issue.record("runnerd started: \(runnerd.log)")
            await runnerd.stop()
        } catch let failure as RunnerdProcess.StartFailure {
            #expect(failure.status != 0)
            #expect(failure.log.contains(message), "\(failure.log)")
        } catch {
            Issue.record("\(error)")
        }
    }

    @Test(arguments: [0o644, 0o640, 0o604, 0o444])
    func aTokenFileReadableByOthersIsRefused(_ mode: Int) async throws {
        let path = try Self.tokenFile(in: RunnerdProcess.makeTempDir("token"), mode: mode_t(mode))
        await Self.expectRefused(environment: ["RUNNERD_TOKEN_FILE": path], saying: "readable by group or others")
        await Self.expectRefused(arguments: ["--token-file", path], saying: "readable by group or others")
    }

    @Test func aTokenFileInsideTheWorkspaceIsRefused() async throws {
        let workspace = RunnerdProcess.makeTempDir("token-ws")
        try FileManager.default.createDirectory(atPath: workspace + "/secrets", withIntermediateDirectories: false)
        let path = try Self.tokenFile(in: workspace + "/secrets", mode: 0o600)
        await Self.expectRefused(environment: ["RUNNERD_TOKEN_FILE": path], workspace: workspace, saying: "inside the workspace")
        // Reached through a symlink from outside: still inside.
        let outside = RunnerdProcess.makeTempDir("token-link") + "/token"
        try FileManager.default.createSymbolicLink(atPath: outside, withDestinationPath: path)
        await Self.expectRefused(environment: ["RUNNERD_TOKEN_FILE": outside], workspace: workspace, saying: "inside the workspace")
    }

    @Test func thereIsNoTokenFlag() async throws {
        await Self.expectRefused(environment: ["RUNNERD_TOKEN": "t"], arguments: ["--token", "secret-in-argv"], saying: "--token")
    }

    @Test func aPrivateTokenFileOutsideTheWorkspaceServes() async throws {
        for mode in [0o600, 0o400] {
            let path = try Self.tokenFile(in: RunnerdProcess.makeTempDir("token"), mode: mode_t(mode))
            let runnerd = try await RunnerdProcess.start(token: "file-token", environment: ["RUNNERD_TOKEN_FILE": path])
            #expect(try await runnerd.client.health().ok)
            await runnerd.stop()
        }
    }
}
