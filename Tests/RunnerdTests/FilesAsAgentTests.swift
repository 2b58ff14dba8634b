import Foundation
import RunnerProtocol
import RunnerdClient
import Testing

/// Nothing in the workspace steers the files API into a file the agent cannot reach: reads and
/// listings run with the agent's filesystem ids, and a stage renames a new file over the name
/// (never writes an existing one). Needs root (only then do agents have their own uid).
@Suite("files API acts as the agent", .enabled(if: Hardening.canRun, Hardening.skipReason), .timeLimit(.minutes(5)))
struct FilesAsAgentTests {
    static func stage(_ client: RunnerdClient, _ path: String, _ text: String) async throws -> StageResponse {
        try await client.json(.POST, "/files/stage", body: StageRequest(files: [StageFile(path: path, contentBase64: Base64.encode(Array(text.utf8)))]))
    }

    static func read(_ client: RunnerdClient, _ path: String) async throws -> (status: Int, text: String) {
        let (status, body) = try await client.call(.GET, "/fs/read?path=" + path)
        return (status, String(decoding: body, as: UTF8.self))
    }

    /// A root-only file (0600) made by the test, outside the workspace.
    static func rootOnlyFile(_ content: String) throws -> String {
        let path = RunnerdProcess.makeTempDir("root-only") + "/secret"
        try content.write(toFile: path, atomically: false, encoding: .utf8)
        chmod(path, 0o600)
        return path
    }

    static func owner(_ path: String) -> (uid: UInt32, links: UInt64, mode: UInt32)? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return (info.st_uid, UInt64(info.st_nlink), UInt32(info.st_mode & 0o7777))
    }

    @Test func aHardLinkToARootOnlyFileIsNeitherReadNorOverwritten() async throws {
        try Hardening.requireRoot()
        let secret = try Self.rootOnlyFile("root secret\n")
        let runnerd = try await RunnerdProcess.start()
        let client = runnerd.client
        // What an agent could do where fs.protected_hardlinks is off; root does it here.
        #expect(link(secret, runnerd.workspace + "/leak.txt") == 0, "link: \(errno)")
        #expect(Self.owner(secret)?.links == 2)

        let read = try await Self.read(client, "leak.txt")
        #expect(read.status == 403, "\(read)")
        #expect(!read.text.contains("root secret"))
        // The agent itself cannot read it either: the API does no more than it could.
        let cat = try await client.run("cat", ["cat", "leak.txt"])
        #expect(cat.exit?.exitCode != 0 && !cat.stdoutText.contains("root secret"))

        // Staging over the link replaces the workspace's entry; the root file keeps its content.
        let staged = try await Self.stage(client, "leak.txt", "agent's own")
        #expect(staged.staged.map(\.path) == ["leak.txt"], "\(staged.skipped)")
        #expect(try String(contentsOfFile: secret, encoding: .utf8) == "root secret\n")
        #expect(Self.owner(secret).map { ($0.uid, $0.links, $0.mode) } ?? (1, 0, 0) == (0, 1, 0o600))
        #expect(Self.owner(runnerd.workspace + "/leak.txt")?.uid == 10001)
        #expect(try await Self.read(client, "leak.txt").text == "agent's own")
        await runnerd.stop()
    }

    @Test func rootOnlyFilesAndDirectoriesInTheWorkspaceAreNotRead() async throws {
        try Hardening.requireRoot()
        let runnerd = try await RunnerdProcess.start()
        let client = runnerd.client
        let rootDir = runnerd.workspace + "/root-dir"
        try FileManager.default.createDirectory(atPath: rootDir, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        try "private\n".write(toFile: rootDir + "/private", atomically: false, encoding: .utf8)
        chmod(rootDir + "/private", 0o600)
        try "public\n".write(toFile: rootDir + "/public", atomically: false, encoding: .utf8)
        chmod(rootDir + "/public", 0o644)
        // Group root, group-readable: root's supplementary groups must not count (runnerd drops them).
        try "group\n".write(toFile: rootDir + "/group", atomically: false, encoding: .utf8)
        chmod(rootDir + "/group", 0o640)

        #expect(try await Self.read(client, "root-dir/private").status == 403)
        #expect(try await Self.read(client, "root-dir/group").status == 403)
        #expect(try await Self.read(client, "root-dir/public") == (200, "public\n"), "what the agent may read, it reads")
        #expect(try await client.call(.GET, "/fs/list?path=root-dir").status == 200, "a 0755 directory the agent may list")

        // A directory the agent cannot list is not listed for it either.
        chmod(rootDir, 0o700)
        #expect(try await client.call(.GET, "/fs/list?path=root-dir").status == 403)
        #expect(try await Self.read(client, "root-dir/public").status == 403)

        // runnerd itself keeps no supplementary group.
        #expect(ProcStatus.fields(pid: runnerd.pid)?["Groups"] == "")
        // The pool threads are root again after each read: a stage (made as root, renamed into
        // place) still reaches the 0700 root directory, and execs still start.
        for index in 0..<4 {
            #expect(try await Self.stage(client, "root-dir/staged-\(index)", "ok").staged.count == 1)
            #expect(try await Self.read(client, "root-dir/staged-\(index)").status == 403)
        }
        #expect(try await client.run("after", ["true"]).exit?.exitCode == 0)
        await runnerd.stop()
    }
}
