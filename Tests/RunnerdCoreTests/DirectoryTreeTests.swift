import Glibc
import SystemSupport
import Testing
import TestSupport

/// `DirectoryTree.remove` on real trees: any depth, never through a symlink, bounded descriptors.
@Suite(.timeLimit(.minutes(3))) struct DirectoryTreeTests {
    /// A scratch directory on tmpfs (`/dev/shm`): on this machine's ext4 (mounted with online
    /// discard) every rmdir costs milliseconds, and the depth is what these tests are about.
    static func scratch() throws -> (path: String, fd: CInt) {
        var template = Array("/dev/shm/tree-test-XXXXXX".utf8CString)
        let path = String(cString: try #require(mkdtemp(&template)))
        return (path, try Syscall.open(path, O_RDONLY | O_DIRECTORY))
    }

    /// `name/d/d/…`, `depth` levels, with a file at every `fileEvery`th level.
    static func makeChain(in parent: CInt, name: String, depth: Int, fileEvery: Int = 0) throws {
        var fd = try Syscall.openat(parent, ".", O_RDONLY | O_DIRECTORY)
        for level in 0..<depth {
            let component = level == 0 ? name : "d"
            guard mkdirat(fd, component, 0o755) == 0 else { throw SystemError("mkdirat(\(component))") }
            let next = try Syscall.openat(fd, component, O_RDONLY | O_DIRECTORY)
            Syscall.close(fd)
            fd = next
            if fileEvery > 0 && level % fileEvery == 0 { Syscall.close(try Syscall.openat(fd, "f", O_WRONLY | O_CREAT, 0o644)) }
        }
        Syscall.close(fd)
    }

    /// Deeper than the descriptors it may hold (`maxOpenDepth`), many times over: subtrees are
    /// moved up and removed from there. (100,000 levels: `DeepTreeTests`, against runnerd.)
    @Test func removesAChainFarDeeperThanItsOpenDirectories() throws {
        let (path, fd) = try Self.scratch()
        defer { Syscall.close(fd); rmdir(path) }
        try Self.makeChain(in: fd, name: "deep", depth: 50 * DirectoryTree.maxOpenDepth + 7, fileEvery: 13)
        try DirectoryTree.remove("deep", in: fd)
        #expect(try Syscall.listDirectory(fd: fd).isEmpty)
    }

    @Test func symlinksAreRemovedNeverFollowed() throws {
        let (path, fd) = try Self.scratch()
        defer { Syscall.close(fd); rmdir(path) }
        let (outside, outsideFD) = try Self.scratch()
        defer { Syscall.close(outsideFD) }
        try Self.makeChain(in: outsideFD, name: "keep", depth: 3, fileEvery: 1)
        try Self.makeChain(in: fd, name: "tree", depth: 200)
        try #require(symlinkat(outside + "/keep", fd, "tree/link") == 0)
        try #require(symlinkat(outside, fd, "top-link") == 0)
        try DirectoryTree.remove("tree", in: fd)
        try DirectoryTree.remove("top-link", in: fd)
        #expect(try Syscall.listDirectory(fd: fd).isEmpty)
        #expect(try Syscall.listDirectory(outside + "/keep/d/d") == ["f"], "the link's target is untouched")
        #expect(throws: SystemError.self) { try DirectoryTree.remove("missing", in: fd) }
    }

    @Test func wideTreesAndFilesGo() throws {
        let (path, fd) = try Self.scratch()
        defer { Syscall.close(fd); rmdir(path) }
        try #require(mkdirat(fd, "wide", 0o755) == 0)
        let wide = try Syscall.openat(fd, "wide", O_RDONLY | O_DIRECTORY)
        for index in 0..<2000 { try Self.makeChain(in: wide, name: "c\(index)", depth: index % 7 + 1, fileEvery: 2) }
        Syscall.close(wide)
        Syscall.close(try Syscall.openat(fd, "file", O_WRONLY | O_CREAT, 0o644))
        try DirectoryTree.remove("wide", in: fd)
        try DirectoryTree.remove("file", in: fd)
        #expect(try Syscall.listDirectory(fd: fd).isEmpty)
    }
}
