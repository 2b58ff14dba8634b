import Foundation
import RunnerProtocol
import SpawnerClient
import Testing

/// runnerd's env and file endpoints through the spawner: method, query, body, status and
/// content type as runnerd has them.
@Suite(.timeLimit(.minutes(10))) struct FileProxyTests {
    @Test func stageListReadDeleteRoundTrip() async throws {
        try await withSpawner { (spawner: SpawnerProcess) async throws in
            let client = spawner.client
            _ = try await client.create("files")
            let content = Array("hello from the host\n".utf8)
            let binary: [UInt8] = (0..<2048).map { UInt8($0 % 256) }
            let staged = try await client.stageFiles(
                "files",
                StageRequest(files: [
                    StageFile(path: "notes/hello.txt", contentBase64: Base64.encode(content)),
                    StageFile(path: "data with space.bin", contentBase64: Base64.encode(binary)),
                    StageFile(path: "../escape.txt", contentBase64: Base64.encode(content)),
                ]))
            #expect(staged.staged.map(\.path).sorted() == ["data with space.bin", "notes/hello.txt"])
            #expect(staged.skipped.map(\.path) == ["../escape.txt"])

            // A command sees the staged file.
            #expect(try await client.runShell("files", "cat", "cat notes/hello.txt").stdout == content)

            let listing = try await client.listDirectory("files", path: "notes")
            #expect(listing.entries.map(\.name) == ["hello.txt"])
            #expect(listing.entries.first?.size == Int64(content.count))
            // The query is forwarded as sent: percent-encoded names arrive decoded at runnerd.
            #expect(try await client.readFile("files", path: "data with space.bin") == binary)
            let (status, contentType, _) = try await client.call(.GET, "/v1/sessions/files/fs/read?path=notes%2Fhello.txt")
            #expect(status == 200)
            #expect(contentType == "application/octet-stream")

            // runnerd's 404s come through as 404s.
            #expect(try await client.status(.GET, "/v1/sessions/files/fs/read?path=missing.txt").0 == 404)
            #expect(try await client.status(.GET, "/v1/sessions/files/fs/list?path=missing-dir").0 == 404)

            let deleted = try await client.deleteFiles("files", DeleteRequest(paths: ["notes/hello.txt", "never.txt"]))
            #expect(deleted.deleted == ["notes/hello.txt"])
            #expect(deleted.skipped.map(\.path) == ["never.txt"])
            #expect(try await client.listDirectory("files", path: "notes").entries.isEmpty)
        }
    }

    @Test func cliCopiesBothWays() async throws {
        try await withSpawner { (spawner: SpawnerProcess) async throws in
            _ = try await spawner.client.create("copy")
            let scratch = TestPaths.makeTempDir("spawner-cp")
            defer { TestPaths.remove(scratch) }
            let local = scratch + "/in.txt"
            try "staged by cp\n".write(toFile: local, atomically: true, encoding: .utf8)
            #expect(try await CLITests.cli(spawner, ["cp", local, "copy:inbox/in.txt"]).status == 0)
            #expect(try await spawner.client.runShell("copy", "c", "cat inbox/in.txt").stdoutText == "staged by cp\n")
            #expect(try await CLITests.cli(spawner, ["cp", "copy:inbox/in.txt", scratch + "/out.txt"]).status == 0)
            #expect(try String(contentsOfFile: scratch + "/out.txt", encoding: .utf8) == "staged by cp\n")
        }
    }
}
