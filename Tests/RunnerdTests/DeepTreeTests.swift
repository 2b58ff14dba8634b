import Foundation
import RunnerProtocol
import RunnerdClient
import TestSupport
import Testing

/// Trees an agent can build that no recursion or path string survives: 100,000 directories deep.
/// The workspaces live on tmpfs (`/dev/shm`): on this machine's ext4, mounted with online
/// discard, each rmdir costs milliseconds (100,000 of them: minutes, whatever the algorithm),
/// and the depth, not the disk, is what these tests are about.
@Suite("agent-built trees of any depth", .timeLimit(.minutes(5)))
struct DeepTreeTests {
    static func start() async throws -> RunnerdProcess {
        try await RunnerdProcess.start(workspace: RunnerdProcess.makeTempDir("deep-ws", in: "/dev/shm"))
    }

    struct ChainFailure: Error, CustomStringConvertible {
        let description: String
    }

    /// Makes `name/d/d/…` `depth` levels deep under `parent`, with a file at the bottom, using
    /// `*at` calls (the path is far longer than PATH_MAX), on a thread of its own.
    static func makeChain(in parent: String, name: String, depth: Int) async throws {
        try await blocking {
            var fd = open(parent, O_RDONLY | O_DIRECTORY)
            guard fd >= 0 else { throw ChainFailure(description: "open \(parent): errno \(errno)") }
            for level in 0..<depth {
                let component = level == 0 ? name : "d"
                guard mkdirat(fd, component, 0o755) == 0 else { throw ChainFailure(description: "mkdir at level \(level): errno \(errno)") }
                let next = openat(fd, component, O_RDONLY | O_DIRECTORY)
                close(fd)
                guard next >= 0 else { throw ChainFailure(description: "open at level \(level): errno \(errno)") }
                fd = next
            }
            close(openat(fd, "bottom.txt", O_WRONLY | O_CREAT, 0o644))
            close(fd)
        }
    }

    @Test func aHundredThousandDeepDirectoryIsDeleted() async throws {
        let runnerd = try await Self.start()
        let workspace = URL(fileURLWithPath: runnerd.workspace).resolvingSymlinksInPath().path
        try await Self.makeChain(in: workspace, name: "deep", depth: 100_000)
        // A symlink to the outside at the bottom of another deep tree: removed, never followed.
        let outside = RunnerdProcess.makeTempDir("deep-outside")
        #expect(FileManager.default.createFile(atPath: outside + "/keep.txt", contents: Data("keep".utf8)))
        try await Self.makeChain(in: workspace, name: "linked", depth: 3_000)
        let fdsBefore = runnerd.openFileFDCount

        let response = try await runnerd.client.deletePaths(["deep", "linked", "missing"])
        #expect(response.deleted == ["deep", "linked"], "\(response)")
        #expect(response.skipped == [SkippedPath(path: "missing", reason: SkipReason.notFound)])
        #expect(!FileManager.default.fileExists(atPath: workspace + "/deep"))
        #expect(!FileManager.default.fileExists(atPath: workspace + "/linked"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: workspace).filter { $0.hasPrefix(".runnerd-rm") }.isEmpty, "nothing left over")
        #expect(FileManager.default.contents(atPath: outside + "/keep.txt") == Data("keep".utf8))
        #expect(kill(runnerd.pid, 0) == 0, "runnerd is alive; log:\n\(runnerd.log.suffix(2000))")
        #expect(try await eventually { runnerd.openFileFDCount <= fdsBefore }, "no descriptor left open: \(runnerd.openFileFDCount) after, \(fdsBefore) before")
        #expect(try await runnerd.client.run("after", ["echo", "ok"]).stdoutText == "ok\n")
        await runnerd.stop()
    }

    /// Paths into a deep tree: the walk answers (found, or refused as too deep), never crashes,
    /// and holds no descriptors afterwards.
    @Test func listReadAndStageDeepInATree() async throws {
        let runnerd = try await Self.start()
        let workspace = URL(fileURLWithPath: runnerd.workspace).resolvingSymlinksInPath().path
        try await Self.makeChain(in: workspace, name: "tree", depth: 5_000)
        let client = runnerd.client
        let shallow = "tree/" + Array(repeating: "d", count: 99).joined(separator: "/")
        let listed = try await client.listDirectory(shallow)
        #expect(listed.status == 200)
        #expect(listed.listing?.entries.map(\.name) == ["d"])
        let staged = try await client.stage(shallow + "/new.txt", text: "deep")
        #expect(staged.staged.count == 1, "\(staged)")
        #expect(try await client.readFile(shallow + "/new.txt").body == Array("deep".utf8))
        // All the way down (5,000 levels): a clear answer either way.
        let bottom = "tree/" + Array(repeating: "d", count: 4_999).joined(separator: "/")
        for status in [try await client.listDirectory(bottom).status, try await client.readFile(bottom + "/bottom.txt").status] {
            #expect(status == 200 || status == 400, "got \(status)")
        }
        let deepStage = try await client.stage(bottom + "/x/y/z.txt", text: "z")
        #expect(deepStage.staged.count + deepStage.skipped.count == 1)
        #expect(kill(runnerd.pid, 0) == 0)
        #expect(try await client.deletePaths(["tree"]).deleted == ["tree"])
        await runnerd.stop()
    }
}
