import Foundation
@testable import SpawnerCore
@testable import SpawnerLocal
import SystemSupport
import TestSupport
import Testing

/// Deleting a local session removes whatever its agent built in the workspace: no recursion, no
/// path longer than PATH_MAX, nothing outside it touched. (On tmpfs: on this machine's ext4 each
/// rmdir costs milliseconds; the depth is what this is about.)
@Suite(.timeLimit(.minutes(5))) struct LocalSessionRemovalTests {
    @Test func aHundredThousandDeepWorkspaceIsRemoved() async throws {
        var dataTemplate = Array("/dev/shm/spawner-data-XXXXXX".utf8CString)
        var outsideTemplate = Array("/dev/shm/spawner-outside-XXXXXX".utf8CString)
        let dataDir = String(cString: try #require(mkdtemp(&dataTemplate)))
        let outside = String(cString: try #require(mkdtemp(&outsideTemplate)))
        #expect(FileManager.default.createFile(atPath: outside + "/keep", contents: Data("keep".utf8)))
        let store = LocalSessionStore(dataDir: dataDir)
        try store.prepare()
        let paths = store.paths("deep")
        try store.makeDirectories(paths)
        let workspace = paths.workspace
        try await blocking {
            // 100,000 levels, a directory its owner cannot write, and a symlink out.
            var fd = try Syscall.open(workspace, O_RDONLY | O_DIRECTORY)
            for _ in 0..<100_000 {
                try Syscall.makeSubdirectory("d", in: fd, mode: 0o755)
                let next = try Syscall.openat(fd, "d", O_RDONLY | O_DIRECTORY)
                Syscall.close(fd)
                fd = next
            }
            Syscall.close(fd)
            try Syscall.makeSubdirectory("locked", in: Syscall.open(workspace, O_RDONLY | O_DIRECTORY), mode: 0o755)
            _ = symlink(outside, workspace + "/out")
            chmod(workspace + "/locked", 0)
        }
        try await blocking { try store.remove("deep") }
        #expect(!FileManager.default.fileExists(atPath: paths.directory))
        #expect(FileManager.default.contents(atPath: outside + "/keep") == Data("keep".utf8), "the symlink's target is untouched")
        try store.remove("deep")  // removing what is gone is not an error
        try? FileManager.default.removeItem(atPath: dataDir)
        try? FileManager.default.removeItem(atPath: outside)
    }
}
