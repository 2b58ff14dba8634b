import SystemSupport
import Glibc
@testable import RunnerdCore
import Testing

/// A temporary tree:
///
///     base/
///       outside/                   (not in the workspace)
///         secret
///       ws/                        (the workspace root)
///         file.txt
///         sub/
///           deep/
///           up -> ../sub           (relative, stays inside)
///           esc -> ../../outside   (relative, escapes)
///         in-abs -> <ws>/sub/deep  (absolute, inside)
///         in-rel -> sub/deep       (relative, inside)
///         in-file -> file.txt
///         out-abs -> <base>/outside
///         out-rel -> ../outside
///         dangling -> nowhere
///         loop1 -> loop2, loop2 -> loop1, self -> self
final class WorkspaceFixture {
    let base: String
    let root: String
    let outside: String

    init() throws {
        var template = Array("/tmp/runnerd-ws-test.XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        base = String(cString: try #require(made))
        root = base + "/ws"
        outside = base + "/outside"
        for dir in [root, outside, root + "/sub", root + "/sub/deep"] { try Self.mkdir(dir) }
        try Self.touch(root + "/file.txt")
        try Self.touch(outside + "/secret")
        try Self.symlink("../sub", root + "/sub/up")
        try Self.symlink("../../outside", root + "/sub/esc")
        try Self.symlink(root + "/sub/deep", root + "/in-abs")
        try Self.symlink("sub/deep", root + "/in-rel")
        try Self.symlink("file.txt", root + "/in-file")
        try Self.symlink(outside, root + "/out-abs")
        try Self.symlink("../outside", root + "/out-rel")
        try Self.symlink("nowhere", root + "/dangling")
        try Self.symlink("loop2", root + "/loop1")
        try Self.symlink("loop1", root + "/loop2")
        try Self.symlink("self", root + "/self")
    }

    deinit { Self.removeTree(base) }

    static func mkdir(_ path: String) throws {
        try #require(Glibc.mkdir(path, 0o755) == 0, "mkdir \(path)")
    }

    static func touch(_ path: String) throws {
        let fd = open(path, O_CREAT | O_WRONLY, 0o644)
        try #require(fd >= 0, "create \(path)")
        close(fd)
    }

    static func symlink(_ target: String, _ path: String) throws {
        try #require(Glibc.symlink(target, path) == 0, "symlink \(path)")
    }

    static func removeTree(_ path: String) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        if info.st_mode & S_IFMT == S_IFDIR, let dir = opendir(path) {
            var names: [String] = []
            while let entry = readdir(dir) {
                let name = withUnsafePointer(to: entry.pointee.d_name) {
                    $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
                }
                if name != "." && name != ".." { names.append(name) }
            }
            closedir(dir)
            for name in names { removeTree(path + "/" + name) }
            rmdir(path)
        } else {
            unlink(path)
        }
    }

    /// Device and inode of what `path` names (following symlinks).
    static func identity(_ path: String) throws -> (UInt64, UInt64) {
        var info = stat()
        try #require(stat(path, &info) == 0, "stat \(path)")
        return (UInt64(info.st_dev), UInt64(info.st_ino))
    }

    static func identity(_ fd: CInt) throws -> (UInt64, UInt64) {
        var info = stat()
        try #require(fstat(fd, &info) == 0)
        return (UInt64(info.st_dev), UInt64(info.st_ino))
    }
}

@Suite(.timeLimit(.minutes(3))) struct WorkspaceTests {
    let fixture: WorkspaceFixture
    let workspace: Workspace

    init() throws {
        fixture = try WorkspaceFixture()
        workspace = try Workspace(path: fixture.root)
    }

    /// Resolves `path` and checks it names the same file as `expected` (relative to the root).
    func expectResolves(_ path: String, to expected: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let fd = try workspace.resolve(path)
        defer { close(fd) }
        let got = try WorkspaceFixture.identity(fd)
        let want = try WorkspaceFixture.identity(fixture.root + (expected.isEmpty ? "" : "/" + expected))
        #expect(got == want, "\(path) should resolve to \(expected)", sourceLocation: sourceLocation)
    }

    func expectError(_ path: String, _ error: Workspace.ResolveError, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(throws: error, sourceLocation: sourceLocation) {
            let fd = try workspace.resolve(path)
            close(fd)
        }
    }

    @Test func realPathIsResolved() throws {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX))
        let real = try #require(realpath(fixture.root, &buffer))
        #expect(workspace.realPath == String(cString: real))
        #expect(workspace.path == fixture.root)
    }

    @Test func relativePathsResolve() throws {
        try expectResolves("", to: "")
        try expectResolves(".", to: "")
        try expectResolves("sub", to: "sub")
        try expectResolves("sub/deep", to: "sub/deep")
        try expectResolves("./sub//deep/", to: "sub/deep")
        try expectResolves("file.txt", to: "file.txt")
        try expectResolves("sub/deep/../..", to: "")
        try expectResolves("sub/../sub/deep", to: "sub/deep")
    }

    @Test func absolutePathsInsideResolve() throws {
        try expectResolves(fixture.root, to: "")
        try expectResolves(fixture.root + "/", to: "")
        try expectResolves(fixture.root + "/sub/deep", to: "sub/deep")
        try expectResolves(workspace.realPath + "/sub", to: "sub")
        try expectResolves(fixture.root + "/file.txt", to: "file.txt")
    }

    @Test func dotDotThatEscapesIsRefused() {
        expectError("..", .escapes(".."))
        expectError("../outside", .escapes("../outside"))
        expectError("sub/../..", .escapes("sub/../.."))
        expectError("sub/deep/../../../ws", .escapes("sub/deep/../../../ws"))
        expectError(fixture.root + "/../outside", .escapes(fixture.root + "/../outside"))
    }

    @Test func absolutePathsOutsideAreRefused() {
        expectError("/etc", .escapes("/etc"))
        expectError(fixture.outside, .escapes(fixture.outside))
        // A sibling whose name merely starts with the root's name is outside.
        expectError(fixture.root + "x", .escapes(fixture.root + "x"))
    }

    @Test func symlinksToOutsideAreRefused() {
        expectError("out-abs", .escapes("out-abs"))
        expectError("out-abs/secret", .escapes("out-abs/secret"))
        expectError("out-rel", .escapes("out-rel"))
        expectError("out-rel/secret", .escapes("out-rel/secret"))
        expectError("sub/esc", .escapes("sub/esc"))
        expectError("sub/esc/secret", .escapes("sub/esc/secret"))
    }

    @Test func symlinksInsideResolve() throws {
        try expectResolves("in-abs", to: "sub/deep")
        try expectResolves("in-rel", to: "sub/deep")
        try expectResolves("in-file", to: "file.txt")
        try expectResolves("sub/up", to: "sub")
        try expectResolves("sub/up/deep", to: "sub/deep")
        try expectResolves("sub/up/up/up/deep", to: "sub/deep")
        try expectResolves("in-abs/..", to: "sub")
        try expectResolves(fixture.root + "/in-rel", to: "sub/deep")
    }

    @Test func missingPathsAreNotFound() {
        expectError("missing", .notFound("missing"))
        expectError("sub/missing/deeper", .notFound("sub/missing/deeper"))
        expectError("dangling", .notFound("dangling"))
        // Walking through a regular file is refused where the walk meets it: a file is not a
        // directory (never resolved, never taken for an escape).
        expectError("file.txt/child", .notADirectory("file.txt/child"))
    }

    @Test func symlinkLoopsAreTooManyLinks() {
        expectError("loop1", .tooManyLinks("loop1"))
        expectError("self", .tooManyLinks("self"))
        expectError("sub/../loop2/x", .tooManyLinks("sub/../loop2/x"))
    }

    @Test func openDirectoryOpensDirectories() throws {
        for path in ["", "sub", "in-abs", "sub/up", fixture.root + "/sub/deep"] {
            let fd = try workspace.openDirectory(path)
            defer { close(fd) }
            #expect(fd >= 0)
            // It is a real, readable directory fd (an O_PATH fd could not be listed).
            let dir = try #require(fdopendir(dup(fd)), "\(path)")
            defer { closedir(dir) }
            #expect(readdir(dir) != nil, "\(path)")
        }
        let fd = try workspace.openDirectory("in-rel")
        defer { close(fd) }
        #expect(try WorkspaceFixture.identity(fd) == WorkspaceFixture.identity(fixture.root + "/sub/deep"))
    }

    @Test func openDirectoryOnAFileIsNotADirectory() {
        #expect(throws: Workspace.ResolveError.notADirectory("file.txt")) { _ = try workspace.openDirectory("file.txt") }
        #expect(throws: Workspace.ResolveError.notADirectory("in-file")) { _ = try workspace.openDirectory("in-file") }
        #expect(throws: Workspace.ResolveError.escapes("out-abs")) { _ = try workspace.openDirectory("out-abs") }
        #expect(throws: Workspace.ResolveError.notFound("nope")) { _ = try workspace.openDirectory("nope") }
    }

    @Test func resolutionLeaksNoDescriptors() throws {
        func openCount() -> Int {
            guard let dir = opendir("/proc/self/fd") else { return -1 }
            defer { closedir(dir) }
            var count = 0
            while readdir(dir) != nil { count += 1 }
            return count
        }
        // Other tests open descriptors concurrently, so allow some noise: a leak in any of these
        // paths would add at least 200 descriptors.
        let before = openCount()
        for _ in 0..<200 {
            if let fd = try? workspace.resolve("sub/up/deep") { close(fd) }
            if let fd = try? workspace.openDirectory("in-abs") { close(fd) }
            _ = try? workspace.resolve("out-rel/secret")
            _ = try? workspace.resolve("loop1")
            _ = try? workspace.resolve("sub/missing")
            _ = try? workspace.openDirectory("file.txt")
        }
        #expect(openCount() - before < 100)
    }
}
