import Foundation
import RunnerProtocol
import RunnerdClient
import Synchronization
import Testing
import TestSupport

// MARK: - Helpers

/// The uid/gid runnerd gives the agent (and staged files) when it runs as root.
private let agentUID: UInt32 = 10001

/// What the test process (root) sees on disk.
private enum Disk {
    static func realPath(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func write(_ path: String, _ bytes: [UInt8]) {
        let ok = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        precondition(ok, "cannot create \(path)")
    }

    static func write(_ path: String, _ text: String) { write(path, Array(text.utf8)) }

    static func mkdir(_ path: String) {
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    static func symlink(_ target: String, at path: String) {
        let result = Foundation.symlink(target, path)
        precondition(result == 0, "symlink \(path) -> \(target): errno \(errno)")
    }

    static func sparse(_ path: String, size: Int) {
        write(path, [])
        precondition(truncate(path, off_t(size)) == 0, "truncate \(path)")
    }

    static func lstat(_ path: String) -> stat? {
        var info = stat()
        return Foundation.lstat(path, &info) == 0 ? info : nil
    }

    static func exists(_ path: String) -> Bool { lstat(path) != nil }

    static func isRegular(_ path: String) -> Bool { lstat(path).map { $0.st_mode & S_IFMT == S_IFREG } ?? false }

    static func isDirectory(_ path: String) -> Bool { lstat(path).map { $0.st_mode & S_IFMT == S_IFDIR } ?? false }

    static func isSymlink(_ path: String) -> Bool { lstat(path).map { $0.st_mode & S_IFMT == S_IFLNK } ?? false }

    static func bytes(_ path: String) -> [UInt8]? { FileManager.default.contents(atPath: path).map(Array.init) }

    static func text(_ path: String) -> String? { bytes(path).map { String(decoding: $0, as: UTF8.self) } }

    static func names(_ directory: String) -> Set<String> {
        Set((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
    }

    /// Everything under `root`, recursively, never following a symlink: relative path → kind,
    /// owner, mode and content digest (files) or target (links).
    static func snapshot(_ root: String) -> [String: String] {
        var result: [String: String] = [:]
        func walk(_ relative: String) {
            let path = relative.isEmpty ? root : root + "/" + relative
            for name in names(path).sorted() {
                let child = relative.isEmpty ? name : relative + "/" + name
                let full = root + "/" + child
                guard let info = lstat(full) else { continue }
                let owner = "\(info.st_uid):\(info.st_gid):\(String(info.st_mode & 0o7777, radix: 8))"
                switch info.st_mode & S_IFMT {
                case S_IFDIR:
                    result[child] = "dir \(owner)"
                    walk(child)
                case S_IFLNK:
                    let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: full)) ?? "?"
                    result[child] = "link -> \(target)"
                case S_IFREG:
                    result[child] = "file \(owner) ino \(info.st_ino) \(Digest.sha256Hex(bytes(full) ?? []))"
                default:
                    result[child] = "other \(owner)"
                }
            }
        }
        walk("")
        return result
    }
}

/// `count` pseudo-random bytes (every byte value shows up).
private func randomBytes(_ count: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    var bytes = [UInt8](repeating: 0, count: count)
    var index = 0
    while index < count {
        var word = generator.next()
        for _ in 0..<8 where index < count {
            bytes[index] = UInt8(truncatingIfNeeded: word)
            word >>= 8
            index += 1
        }
    }
    return bytes
}

/// runnerd with a workspace laid out for the path-escape suite, plus an outside canary tree.
///
/// Outside the workspace: `canary/{secret.txt, file, canary-only-entry, sub/deep.txt}`.
/// In it: `in/file.txt`, symlinks to the canary (absolute, relative, chains, as a parent),
/// symlinks inside (absolute, chain), and loops.
private struct EscapeFixture {
    let runnerd: RunnerdProcess
    let workspace: String
    let canary: String
    let canaryName: String
    let canaryBefore: [String: String]
    /// A unique name that must never appear next to the workspace (in its parent).
    let escapeName: String

    static let canarySecret = "CANARY-SECRET"
    static let canaryFile = "CANARY-FILE"

    static func make(environment: [String: String] = [:]) async throws -> EscapeFixture {
        let workspace = Disk.realPath(RunnerdProcess.makeTempDir("runnerd-esc"))
        let canary = Disk.realPath(RunnerdProcess.makeTempDir("runnerd-canary"))
        chmod(canary, 0o755)
        Disk.write(canary + "/secret.txt", canarySecret)
        Disk.write(canary + "/file", canaryFile)
        Disk.write(canary + "/canary-only-entry", "")
        Disk.mkdir(canary + "/sub")
        Disk.write(canary + "/sub/deep.txt", "CANARY-DEEP")
        let canaryName = (canary as NSString).lastPathComponent

        Disk.mkdir(workspace + "/in")
        Disk.write(workspace + "/in/file.txt", "INSIDE")
        Disk.mkdir(workspace + "/sub")
        Disk.symlink(canary, at: workspace + "/abs-out")
        Disk.symlink(canary + "/secret.txt", at: workspace + "/abs-out-file")
        Disk.symlink("../" + canaryName, at: workspace + "/rel-out")
        Disk.symlink("../../" + canaryName, at: workspace + "/sub/rel-out2")
        Disk.symlink("../../../../../../../../../../" + canary, at: workspace + "/sub/rel-out-deep")
        Disk.symlink("chain2", at: workspace + "/chain1")
        Disk.symlink("sub/../chain3", at: workspace + "/chain2")
        Disk.symlink(canary, at: workspace + "/chain3")
        Disk.symlink("chain-file2", at: workspace + "/chain-file1")
        Disk.symlink("abs-out-file", at: workspace + "/chain-file2")
        Disk.symlink("chain-in2", at: workspace + "/chain-in1")
        Disk.symlink(workspace + "/in", at: workspace + "/chain-in2")
        Disk.symlink(workspace + "/in", at: workspace + "/abs-in")
        Disk.symlink("loop2", at: workspace + "/loop1")
        Disk.symlink("loop1", at: workspace + "/loop2")
        Disk.symlink("selfloop", at: workspace + "/selfloop")

        let runnerd = try await RunnerdProcess.start(environment: environment, workspace: workspace)
        return EscapeFixture(
            runnerd: runnerd, workspace: workspace, canary: canary, canaryName: canaryName,
            canaryBefore: Disk.snapshot(canary), escapeName: "escaped-\(UUID().uuidString)")
    }

    var client: RunnerdClient { runnerd.client }

    /// The paths outside the workspace that an escape would have touched.
    func checkNothingOutsideChanged(sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(Disk.snapshot(canary) == canaryBefore, "the outside canary tree changed", sourceLocation: sourceLocation)
        let parent = (workspace as NSString).deletingLastPathComponent
        #expect(!Disk.exists(parent + "/" + escapeName), "a file was created next to the workspace", sourceLocation: sourceLocation)
        #expect(Disk.text("/etc/passwd")?.contains("root:") == true, sourceLocation: sourceLocation)
    }

    func stop() async {
        await runnerd.stop()
        try? FileManager.default.removeItem(atPath: canary)
    }
}

// MARK: - Staging

/// Needs root (staged files go to the agent uid): skipped without it on a developer's machine,
/// run — and failing — in CI (CI=true) if CI is not root.
@Suite(
    "workspace files: stage, delete, list, read",
    .enabled(if: Hardening.canRun, "runnerd gives staged files to the agent uid only as root; CI runs as root"),
    .timeLimit(.minutes(10)))
struct FilesTests {
    // MARK: Inline staging

    @Test func inlineFileIsStagedByteIdenticalOwnedByTheAgentWithItsParents() async throws {
        let runnerd = try await RunnerdProcess.start()
        let client = runnerd.client
        let workspace = Disk.realPath(runnerd.workspace)
        let content = randomBytes(70_000)
        let path = "deep/er/dir/file.bin"
        let response = try await client.stage(path, content)
        #expect(response == StageResponse(staged: [StagedFile(path: path, bytes: 70_000)], skipped: []))

        let read = try await client.readFile(path)
        #expect(read.status == 200)
        #expect(read.body == content, "/fs/read returns the staged bytes")
        #expect(Disk.bytes(workspace + "/" + path) == content)

        let cat = try await client.run("cat", ["cat", path])
        #expect(cat.exit?.exitCode == 0)
        #expect(cat.stdout == content, "the agent reads the same bytes")
        let sum = try await client.run("sum", ["sha256sum", path])
        #expect(sum.stdoutText == "\(Digest.sha256Hex(content))  \(path)\n")

        // The file and every directory created for it belong to the agent.
        let owners = try await client.run("stat", ["stat", "-c", "%u:%g %F %n", "deep", "deep/er", "deep/er/dir", path])
        #expect(
            owners.stdoutText == """
                10001:10001 directory deep
                10001:10001 directory deep/er
                10001:10001 directory deep/er/dir
                10001:10001 regular file \(path)

                """)
        #expect(Disk.lstat(workspace + "/" + path)?.st_uid == agentUID)
        let write = try await client.run("write", ["sh", "-c", "echo hi > deep/er/dir/by-agent && echo hi >> \(path)"])
        #expect(write.exit?.exitCode == 0, "the agent can write the staged file and the created directories")
        // No temp file is left behind.
        #expect(Disk.names(workspace + "/deep/er/dir") == ["file.bin", "by-agent"])
        await runnerd.stop()
    }

    @Test func restagingReplacesTheFileAtomicallyForConcurrentReaders() async throws {
        let runnerd = try await RunnerdProcess.start()
        let client = runnerd.client
        let small = [UInt8](repeating: UInt8(ascii: "a"), count: 1024)
        let large = [UInt8](repeating: UInt8(ascii: "b"), count: Limits.inlineFileMaxBytes)
        let digests: Set<String> = [Digest.sha256Hex(small), Digest.sha256Hex(large)]
        #expect(try await client.stage("atomic.bin", small).staged.count == 1)

        // The agent hashes the file over and over while it is replaced, and so does /fs/read.
        let agentReader = Task {
            try await client.run(
                "hasher", ["sh", "-c", "i=0; while [ $i -lt 300 ]; do sha256sum atomic.bin || echo MISSING; i=$((i+1)); done"])
        }
        let httpReader = Task { () -> [[UInt8]] in
            var seen: [[UInt8]] = []
            for _ in 0..<120 {
                let (status, body) = try await client.readFile("atomic.bin")
                if status != 200 { seen.append(Array("status \(status)".utf8)) } else { seen.append(body) }
            }
            return seen
        }
        var staged = 0
        for round in 0..<40 {
            let response = try await client.stage("atomic.bin", round % 2 == 0 ? large : small)
            staged += response.staged.count
            #expect(response.skipped.isEmpty, "\(response.skipped)")
        }
        #expect(staged == 40)
        let hashed = try await agentReader.value
        #expect(hashed.exit?.exitCode == 0)
        let lines = hashed.stdoutText.split(separator: "\n")
        #expect(lines.count == 300)
        for line in lines {
            let digest = String(line.prefix(64))
            #expect(digests.contains(digest), "the agent saw a partial or mixed file: \(line)")
        }
        #expect(hashed.stderr.isEmpty, "\(String(decoding: hashed.stderr, as: UTF8.self))")
        for body in try await httpReader.value {
            #expect(body == small || body == large, "/fs/read saw \(body.count) bytes that are neither version")
        }
        #expect(try await client.readFile("atomic.bin").body == small, "the last staging (round 39) wins")
        #expect(Disk.names(Disk.realPath(runnerd.workspace)).filter { $0.contains("runnerd-") }.isEmpty, "no temp file is left")
        await runnerd.stop()
    }

    @Test func symlinkAtTheTargetIsReplacedAndItsTargetIsUntouched() async throws {
        let workspace = Disk.realPath(RunnerdProcess.makeTempDir("runnerd-links"))
        let outside = Disk.realPath(RunnerdProcess.makeTempDir("runnerd-outside"))
        defer { try? FileManager.default.removeItem(atPath: outside) }
        Disk.write(outside + "/victim.txt", "OUTSIDE-ORIGINAL")
        Disk.write(workspace + "/target-in.txt", "INSIDE-ORIGINAL")
        Disk.mkdir(workspace + "/dir-in")
        Disk.symlink("target-in.txt", at: workspace + "/link-in")
        Disk.symlink(outside + "/victim.txt", at: workspace + "/link-out")
        Disk.symlink(outside, at: workspace + "/link-dir-out")
        Disk.symlink("dir-in", at: workspace + "/link-dir-in")
        Disk.symlink("nowhere", at: workspace + "/dangling")
        let outsideBefore = Disk.snapshot(outside)
        let runnerd = try await RunnerdProcess.start(workspace: workspace)

        let names = ["link-in", "link-out", "link-dir-out", "link-dir-in", "dangling"]
        let response = try await runnerd.client.stage(names.map { StageFile(path: $0, contentBase64: Base64.encode(Array("NEW \($0)".utf8))) })
        #expect(response.skipped.isEmpty, "\(response.skipped)")
        #expect(response.staged.map(\.path) == names)
        for name in names {
            #expect(Disk.isRegular(workspace + "/" + name), "\(name) is now a regular file")
            #expect(Disk.text(workspace + "/" + name) == "NEW \(name)")
            #expect(Disk.lstat(workspace + "/" + name)?.st_uid == agentUID)
        }
        #expect(Disk.text(workspace + "/target-in.txt") == "INSIDE-ORIGINAL")
        #expect(Disk.isDirectory(workspace + "/dir-in"))
        #expect(Disk.names(workspace + "/dir-in").isEmpty)
        #expect(!Disk.exists(workspace + "/nowhere"))
        #expect(Disk.snapshot(outside) == outsideBefore, "the outside target was not touched")
        await runnerd.stop()
    }

    @Test func badFilesAreSkippedOneByOneAndGoodOnesStaged() async throws {
        let runnerd = try await RunnerdProcess.start()
        let workspace = Disk.realPath(runnerd.workspace)
        Disk.mkdir(workspace + "/mix/adir")
        Disk.write(workspace + "/mix/plain.txt", "plain")
        let exact = [UInt8](repeating: 7, count: Limits.inlineFileMaxBytes)
        let over = [UInt8](repeating: 8, count: Limits.inlineFileMaxBytes + 1)
        let small = randomBytes(300)
        let files = [
            StageFile(path: "mix/good.txt", contentBase64: Base64.encode(Array("one".utf8))),
            StageFile(path: "mix/bad-b64.txt", contentBase64: "!!! not base64 !!!"),
            StageFile(path: "mix/both.txt", contentBase64: Base64.encode([1]), url: "http://127.0.0.1:9/x"),
            StageFile(path: "mix/neither.txt"),
            StageFile(path: "mix/over.bin", contentBase64: Base64.encode(over)),
            StageFile(path: "mix/exact.bin", contentBase64: Base64.encode(exact)),
            StageFile(path: "mix/adir", contentBase64: Base64.encode([1])),
            StageFile(path: "", contentBase64: Base64.encode([1])),
            StageFile(path: ".", contentBase64: Base64.encode([1])),
            StageFile(path: workspace, contentBase64: Base64.encode([1])),
            StageFile(path: workspace + "/", contentBase64: Base64.encode([1])),
            StageFile(path: "mix/file-url", url: "file:///etc/passwd"),
            StageFile(path: "mix/ftp-url", url: "ftp://127.0.0.1/x"),
            StageFile(path: "mix/plain.txt/child", contentBase64: Base64.encode([1])),
            StageFile(path: "mix/small.bin", contentBase64: Base64.encode(small)),
            StageFile(path: "mix/empty.txt", contentBase64: ""),
        ]
        let response = try await runnerd.client.stage(files)
        #expect(
            response.staged == [
                StagedFile(path: "mix/good.txt", bytes: 3),
                StagedFile(path: "mix/exact.bin", bytes: Int64(Limits.inlineFileMaxBytes)),
                StagedFile(path: "mix/small.bin", bytes: 300),
                StagedFile(path: "mix/empty.txt", bytes: 0),
            ])
        let expectedSkips = [
            SkippedPath(path: "mix/bad-b64.txt", reason: SkipReason.invalidBase64),
            SkippedPath(path: "mix/both.txt", reason: SkipReason.oneSource),
            SkippedPath(path: "mix/neither.txt", reason: SkipReason.oneSource),
            SkippedPath(path: "mix/over.bin", reason: SkipReason.inlineTooLarge),
            SkippedPath(path: "mix/adir", reason: SkipReason.isDirectory),
            SkippedPath(path: "", reason: SkipReason.emptyPath),
            SkippedPath(path: ".", reason: SkipReason.emptyPath),
            SkippedPath(path: workspace, reason: SkipReason.emptyPath),
            SkippedPath(path: workspace + "/", reason: SkipReason.emptyPath),
            SkippedPath(path: "mix/file-url", reason: SkipReason.urlScheme),
            SkippedPath(path: "mix/ftp-url", reason: SkipReason.urlScheme),
            SkippedPath(path: "mix/plain.txt/child", reason: SkipReason.notADirectory),
        ]
        #expect(response.skipped == expectedSkips)
        #expect(Disk.bytes(workspace + "/mix/exact.bin") == exact)
        #expect(Disk.bytes(workspace + "/mix/small.bin") == small)
        #expect(Disk.bytes(workspace + "/mix/empty.txt") == [])
        #expect(Disk.text(workspace + "/mix/plain.txt") == "plain")
        #expect(Disk.isDirectory(workspace + "/mix/adir") && Disk.names(workspace + "/mix/adir").isEmpty)
        // Nothing of the skipped files (or their temp files) is on disk.
        #expect(Disk.names(workspace + "/mix") == ["good.txt", "exact.bin", "small.bin", "empty.txt", "adir", "plain.txt"])
        #expect(try await runnerd.client.health().ok)
        await runnerd.stop()
    }

    /// A name of 244 bytes (under NAME_MAX, 255) made of 2-byte characters.
    @Test func fileWithALongMultibyteNameIsStaged() async throws {
        let runnerd = try await RunnerdProcess.start()
        let name = String(repeating: "é", count: 120) + ".txt"
        #expect(name.utf8.count == 244)
        let response = try await runnerd.client.stage(name, text: "long name")
        #expect(response.skipped.isEmpty, "a valid file name must be stageable: \(response.skipped)")
        #expect(response.staged == [StagedFile(path: name, bytes: 9)])
        #expect(Disk.text(Disk.realPath(runnerd.workspace) + "/" + name) == "long name")
        // A single ASCII name of the maximal length works too.
        let ascii = String(repeating: "n", count: 255)
        #expect(try await runnerd.client.stage(ascii, text: "max").staged == [StagedFile(path: ascii, bytes: 3)])
        await runnerd.stop()
    }

    // MARK: URL staging

    @Test func urlIsFetchedFromALocalServerFollowingRedirects() async throws {
        let served = Disk.realPath(RunnerdProcess.makeTempDir("runnerd-served"))
        defer { try? FileManager.default.removeItem(atPath: served) }
        let content = randomBytes(300_000)
        Disk.write(served + "/file.bin", content)
        chmod(served, 0o755)
        let server = try await LocalHTTPServer.start(directory: served)
        defer { server.stop() }
        let runnerd = try await RunnerdProcess.start()
        let workspace = Disk.realPath(runnerd.workspace)

        let response = try await runnerd.client.stage([
            StageFile(path: "dl/file.bin", url: server.url("/file.bin")),
            StageFile(path: "dl/redirected.bin", url: server.url("/redirect-to/file.bin")),
            StageFile(path: "dl/missing.bin", url: server.url("/no-such-file")),
            StageFile(path: "dl/to-file-scheme", url: server.url("/redirect-file")),
            StageFile(path: "dl/loop", url: server.url("/redirect-loop")),
        ])
        #expect(response.staged == [StagedFile(path: "dl/file.bin", bytes: 300_000), StagedFile(path: "dl/redirected.bin", bytes: 300_000)])
        let skipped = Dictionary(uniqueKeysWithValues: response.skipped.map { ($0.path, $0.reason) })
        #expect(Set(skipped.keys) == ["dl/missing.bin", "dl/to-file-scheme", "dl/loop"])
        #expect(skipped["dl/missing.bin"]?.contains("404") == true, "a 404 names the status: \(skipped["dl/missing.bin"] ?? "")")
        #expect(skipped["dl/to-file-scheme"]?.isEmpty == false)
        #expect(skipped["dl/loop"]?.isEmpty == false)

        #expect(try await runnerd.client.readFile("dl/file.bin").body == content)
        #expect(Disk.bytes(workspace + "/dl/redirected.bin") == content)
        let owners = try await runnerd.client.run("owners", ["stat", "-c", "%u:%g", "dl/file.bin", "dl/redirected.bin"])
        #expect(owners.stdoutText == "10001:10001\n10001:10001\n", "downloaded files belong to the agent")
        #expect(Disk.names(workspace + "/dl") == ["file.bin", "redirected.bin"], "no partial or temp file of the failures")
        await runnerd.stop()
    }

    @Test func urlLargerThanTheCapIsSkippedWithoutLeftovers() async throws {
        let served = Disk.realPath(RunnerdProcess.makeTempDir("runnerd-served"))
        defer { try? FileManager.default.removeItem(atPath: served) }
        Disk.sparse(served + "/over.bin", size: Limits.urlFetchMaxBytes + (1 << 20))
        Disk.sparse(served + "/exact.bin", size: Limits.urlFetchMaxBytes)
        chmod(served, 0o755)
        let server = try await LocalHTTPServer.start(directory: served)
        defer { server.stop() }
        let runnerd = try await RunnerdProcess.start()
        let workspace = Disk.realPath(runnerd.workspace)

        // Announced too large (Content-Length), and streamed past the cap with no length.
        let response = try await runnerd.client.stage([
            StageFile(path: "big/over.bin", url: server.url("/over.bin")),
            StageFile(path: "big/stream.bin", url: server.url("/stream/\(Limits.urlFetchMaxBytes + 1)")),
        ])
        #expect(response.staged.isEmpty)
        #expect(
            response.skipped == [
                SkippedPath(path: "big/over.bin", reason: SkipReason.fetchTooLarge),
                SkippedPath(path: "big/stream.bin", reason: SkipReason.fetchTooLarge),
            ])
        #expect(SkipReason.fetchTooLarge.contains("exceeds 100 MiB"))
        #expect(Disk.names(workspace + "/big").isEmpty, "no partial file, no .NAME.runnerd-* temp file: \(Disk.names(workspace + "/big"))")

        // Exactly the cap is fine.
        let exact = try await runnerd.client.stage("big/exact.bin", url: server.url("/exact.bin"))
        #expect(exact.staged == [StagedFile(path: "big/exact.bin", bytes: Int64(Limits.urlFetchMaxBytes))], "\(exact.skipped)")
        #expect(Disk.lstat(workspace + "/big/exact.bin")?.st_size == off_t(Limits.urlFetchMaxBytes))
        #expect(Disk.lstat(workspace + "/big/exact.bin")?.st_uid == agentUID)
        #expect(try await runnerd.client.deletePaths(["big/exact.bin"]).deleted == ["big/exact.bin"])
        #expect(Disk.names(workspace + "/big").isEmpty)
        await runnerd.stop()
    }

    // MARK: List and read

    @Test func listDescribesEntriesWithTypeSizeAndMtime() async throws {
        let runnerd = try await RunnerdProcess.start()
        let workspace = Disk.realPath(runnerd.workspace)
        Disk.mkdir(workspace + "/ls/d")
        Disk.write(workspace + "/ls/f", "12345")
        Disk.symlink("f", at: workspace + "/ls/s")
        Disk.symlink("d", at: workspace + "/ls/sd")
        #expect(mkfifo(workspace + "/ls/p", 0o644) == 0)
        var times = [timespec(tv_sec: 1_700_000_000, tv_nsec: 123_456_789), timespec(tv_sec: 1_700_000_000, tv_nsec: 123_456_789)]
        #expect(utimensat(AT_FDCWD, workspace + "/ls/f", &times, 0) == 0)

        let (status, listing, _) = try await runnerd.client.listDirectory("ls")
        #expect(status == 200)
        let entries = try #require(listing?.entries)
        #expect(entries.map(\.name) == ["d", "f", "p", "s", "sd"], "sorted by name, without . and ..")
        let byName = Dictionary(uniqueKeysWithValues: entries.map { ($0.name, $0) })
        #expect(byName["f"] == DirectoryEntry(name: "f", type: .file, size: 5, mtimeMs: 1_700_000_000_123))
        #expect(byName["d"]?.type == .dir)
        #expect(byName["s"]?.type == .other, "a symlink is other, not followed")
        #expect(byName["s"]?.size == 1, "a symlink's size is its target's length")
        #expect(byName["sd"]?.type == .other)
        #expect(byName["p"]?.type == .other)
        let dirMtime = try #require(Disk.lstat(workspace + "/ls/d"))
        #expect(byName["d"]?.mtimeMs == Int64(dirMtime.st_mtim.tv_sec) * 1000 + Int64(dirMtime.st_mtim.tv_nsec) / 1_000_000)

        // The root: no path, "", ".", the absolute workspace path. A symlinked directory is followed.
        for path: String? in [nil, "", ".", workspace, workspace + "/"] {
            let root = try await runnerd.client.listDirectory(path)
            #expect(root.status == 200, "\(path ?? "nil")")
            #expect(root.listing?.entries.contains { $0.name == "ls" && $0.type == .dir } == true, "\(path ?? "nil")")
        }
        #expect(try await runnerd.client.listDirectory("ls/sd").listing?.entries == [])
        // Missing is 404; a file is not a directory.
        #expect(try await runnerd.client.listDirectory("nope").status == 404)
        #expect(try await runnerd.client.listDirectory("nope/deeper").status == 404)
        let file = try await runnerd.client.listDirectory("ls/f")
        #expect((400..<500).contains(file.status), "listing a file: \(file.status)")
        await runnerd.stop()
    }

    @Test func readReturnsBytesAndRefusesMissingLargeAndNonFiles() async throws {
        let runnerd = try await RunnerdProcess.start()
        let client = runnerd.client
        let workspace = Disk.realPath(runnerd.workspace)
        let content = randomBytes(100_000)
        Disk.mkdir(workspace + "/r/d")
        Disk.write(workspace + "/r/data.bin", content)
        Disk.write(workspace + "/r/empty", [])
        Disk.symlink("data.bin", at: workspace + "/r/link")
        Disk.sparse(workspace + "/r/limit.bin", size: Limits.fileReadMaxBytes)
        Disk.sparse(workspace + "/r/over.bin", size: Limits.fileReadMaxBytes + 1)
        #expect(mkfifo(workspace + "/r/fifo", 0o644) == 0)

        let data = try await client.readFile("r/data.bin")
        #expect(data.status == 200)
        #expect(data.body == content)
        #expect(try await client.readFile("r/link").body == content, "a symlink inside the workspace is followed")
        #expect(try await client.readFile(workspace + "/r/data.bin").body == content, "absolute inside is fine")
        let empty = try await client.readFile("r/empty")
        #expect(empty.status == 200 && empty.body.isEmpty)
        let limit = try await client.readFile("r/limit.bin")
        #expect(limit.status == 200)
        #expect(limit.body.count == Limits.fileReadMaxBytes)
        #expect(limit.body.allSatisfy { $0 == 0 })

        let over = try await client.readFile("r/over.bin")
        #expect(over.status == 413, "a file over 20 MiB")
        #expect(try await client.readFile("r/nope").status == 404)
        #expect(try await client.readFile("nope/deeper").status == 404)
        for path in ["r/d", "r", "r/fifo", "r/data.bin/x"] {
            let answer = try await client.readFile(path)
            #expect((400..<500).contains(answer.status), "\(path) is not readable: \(answer.status)")
        }
        #expect(try await client.readFile("").status == 400, "a path is required")
        #expect(try await client.call(.GET, "/fs/read").status == 400)
        #expect(try await client.health().ok, "a FIFO did not block the daemon")
        await runnerd.stop()
    }

    // MARK: Delete

    @Test func deleteRemovesFilesTreesAndSymlinksButNeverTheirTargets() async throws {
        let workspace = Disk.realPath(RunnerdProcess.makeTempDir("runnerd-del"))
        let outside = Disk.realPath(RunnerdProcess.makeTempDir("runnerd-outside"))
        defer { try? FileManager.default.removeItem(atPath: outside) }
        Disk.write(outside + "/victim.txt", "OUTSIDE")
        Disk.mkdir(outside + "/victim-dir")
        Disk.write(outside + "/victim-dir/inner.txt", "OUTSIDE-INNER")
        let outsideBefore = Disk.snapshot(outside)

        Disk.write(workspace + "/f1", "1")
        Disk.write(workspace + "/f2", "2")
        Disk.mkdir(workspace + "/tree/a/b/c")
        Disk.write(workspace + "/tree/top.txt", "t")
        Disk.write(workspace + "/tree/a/b/c/deep.txt", "d")
        Disk.write(workspace + "/tree/a/.hidden", "h")
        Disk.symlink(outside, at: workspace + "/tree/a/out-dir")
        Disk.symlink(outside + "/victim.txt", at: workspace + "/tree/a/b/out-file")
        Disk.symlink("../../keep", at: workspace + "/tree/a/in-dir")
        chmod(workspace + "/tree/a/b", 0o500)  // read-only for its owner: root deletes anyway
        Disk.mkdir(workspace + "/keep")
        Disk.write(workspace + "/keep/k.txt", "keep")
        Disk.symlink("keep/k.txt", at: workspace + "/l-in")
        Disk.symlink(workspace + "/keep", at: workspace + "/l-in-dir")
        Disk.symlink(outside + "/victim.txt", at: workspace + "/l-out")
        Disk.symlink(outside + "/victim-dir", at: workspace + "/l-out-dir")
        Disk.symlink("gone", at: workspace + "/l-dangling")
        let runnerd = try await RunnerdProcess.start(workspace: workspace)

        let paths = ["f1", workspace + "/f2", "tree", "l-in", "l-in-dir", "l-out", "l-out-dir", "l-dangling", "nope.txt", "nope/x", "", "."]
        let response = try await runnerd.client.deletePaths(paths)
        #expect(response.deleted == ["f1", workspace + "/f2", "tree", "l-in", "l-in-dir", "l-out", "l-out-dir", "l-dangling"])
        #expect(
            response.skipped == [
                SkippedPath(path: "nope.txt", reason: SkipReason.notFound),
                SkippedPath(path: "nope/x", reason: SkipReason.notFound),
                SkippedPath(path: "", reason: SkipReason.emptyPath),
                SkippedPath(path: ".", reason: SkipReason.emptyPath),
            ])
        for name in ["f1", "f2", "tree", "l-in", "l-in-dir", "l-out", "l-out-dir", "l-dangling"] {
            #expect(!Disk.exists(workspace + "/" + name), "\(name) was deleted")
        }
        #expect(Disk.text(workspace + "/keep/k.txt") == "keep", "the targets of deleted symlinks inside are untouched")
        #expect(Disk.snapshot(outside) == outsideBefore, "the targets of deleted symlinks outside are untouched")
        #expect(try await runnerd.client.deletePaths(["f1"]).skipped == [SkippedPath(path: "f1", reason: SkipReason.notFound)])
        await runnerd.stop()
    }

    // MARK: Path escapes, per endpoint

    @Test func stageNeverEscapesTheWorkspace() async throws {
        let fixture = try await EscapeFixture.make()
        let ws = fixture.workspace
        let refused: [(String, String)] = [
            ("..", SkipReason.escapesWorkspace),
            ("../\(fixture.escapeName)", SkipReason.escapesWorkspace),
            ("in/../../\(fixture.escapeName)", SkipReason.escapesWorkspace),
            ("sub/../../\(fixture.escapeName)", SkipReason.escapesWorkspace),
            // Absolute paths outside: the canary's, not /etc's, so that a regression cannot
            // damage the machine (read and list probe /etc/passwd itself).
            (fixture.canary + "/secret.txt", SkipReason.escapesWorkspace),
            ("/etc/../" + fixture.canary + "/secret.txt", SkipReason.escapesWorkspace),
            (fixture.canary + "/new.txt", SkipReason.escapesWorkspace),
            (ws + "/../\(fixture.escapeName)", SkipReason.escapesWorkspace),
            ("abs-out/secret.txt", SkipReason.escapesWorkspace),
            ("abs-out/new.txt", SkipReason.escapesWorkspace),
            ("abs-out/sub/deep.txt", SkipReason.escapesWorkspace),
            ("rel-out/new.txt", SkipReason.escapesWorkspace),
            ("sub/rel-out2/new.txt", SkipReason.escapesWorkspace),
            ("sub/rel-out-deep/new.txt", SkipReason.escapesWorkspace),
            ("chain1/new.txt", SkipReason.escapesWorkspace),
            ("chain1/sub/new.txt", SkipReason.escapesWorkspace),
            ("loop1/new.txt", SkipReason.tooManyLinks),
            ("selfloop/new.txt", SkipReason.tooManyLinks),
        ]
        let response = try await fixture.client.stage(refused.map { StageFile(path: $0.0, contentBase64: Base64.encode(Array("ESCAPED".utf8))) })
        #expect(response.staged.isEmpty, "\(response.staged)")
        #expect(response.skipped == refused.map { SkippedPath(path: $0.0, reason: $0.1) })
        fixture.checkNothingOutsideChanged()

        // Inside the workspace, by an absolute path, an absolute symlink, a chain or a `..`.
        let allowed = [ws + "/in/abs.txt", "abs-in/via-abs-link.txt", "chain-in1/via-chain.txt", "sub/../in/dotdot.txt", "./in/./dot.txt"]
        let ok = try await fixture.client.stage(allowed.map { StageFile(path: $0, contentBase64: Base64.encode(Array("OK".utf8))) })
        #expect(ok.skipped.isEmpty, "\(ok.skipped)")
        #expect(ok.staged.map(\.path) == allowed)
        #expect(Disk.names(ws + "/in") == ["file.txt", "abs.txt", "via-abs-link.txt", "via-chain.txt", "dotdot.txt", "dot.txt"])
        // A final symlink to outside is replaced, not written through.
        let replaced = try await fixture.client.stage("abs-out-file", text: "REPLACED")
        #expect(replaced.staged.count == 1)
        #expect(Disk.isRegular(ws + "/abs-out-file"))
        fixture.checkNothingOutsideChanged()
        await fixture.stop()
    }

    @Test func deleteNeverEscapesTheWorkspace() async throws {
        let fixture = try await EscapeFixture.make()
        let ws = fixture.workspace
        let canary = fixture.canaryName
        let refused: [(String, String)] = [
            ("..", SkipReason.escapesWorkspace),
            ("../\(canary)", SkipReason.escapesWorkspace),
            ("../\(canary)/secret.txt", SkipReason.escapesWorkspace),
            ("in/../../\(canary)/secret.txt", SkipReason.escapesWorkspace),
            ("in/../..", SkipReason.escapesWorkspace),
            // Absolute paths outside: the canary's, not /etc/passwd, so that a regression
            // cannot damage the machine (read and list probe /etc itself).
            (fixture.canary, SkipReason.escapesWorkspace),
            (fixture.canary + "/secret.txt", SkipReason.escapesWorkspace),
            (ws + "/../\(canary)/secret.txt", SkipReason.escapesWorkspace),
            ("abs-out/secret.txt", SkipReason.escapesWorkspace),
            ("abs-out/sub", SkipReason.escapesWorkspace),
            ("rel-out/secret.txt", SkipReason.escapesWorkspace),
            ("sub/rel-out2/secret.txt", SkipReason.escapesWorkspace),
            ("sub/rel-out-deep/secret.txt", SkipReason.escapesWorkspace),
            ("chain1/secret.txt", SkipReason.escapesWorkspace),
            ("chain1/sub/deep.txt", SkipReason.escapesWorkspace),
            ("loop1/x", SkipReason.tooManyLinks),
            ("selfloop/x", SkipReason.tooManyLinks),
        ]
        let response = try await fixture.client.deletePaths(refused.map(\.0))
        #expect(response.deleted.isEmpty, "\(response.deleted)")
        #expect(response.skipped == refused.map { SkippedPath(path: $0.0, reason: $0.1) })
        fixture.checkNothingOutsideChanged()

        // Inside: absolute path, through an absolute symlink, through a chain; final symlinks
        // to outside (absolute, relative, chained, looping) are removed as links.
        Disk.write(ws + "/in/a.txt", "a")
        Disk.write(ws + "/in/b.txt", "b")
        Disk.write(ws + "/in/c.txt", "c")
        let allowed = [ws + "/in/a.txt", "abs-in/b.txt", "chain-in1/c.txt", "abs-out", "abs-out-file", "rel-out", "chain1", "loop1"]
        let ok = try await fixture.client.deletePaths(allowed)
        #expect(ok.skipped.isEmpty, "\(ok.skipped)")
        #expect(ok.deleted == allowed)
        #expect(Disk.names(ws + "/in") == ["file.txt"])
        for link in ["abs-out", "abs-out-file", "rel-out", "chain1", "loop1"] { #expect(!Disk.exists(ws + "/" + link)) }
        #expect(Disk.isSymlink(ws + "/chain2") && Disk.isSymlink(ws + "/chain3") && Disk.isSymlink(ws + "/loop2"))
        fixture.checkNothingOutsideChanged()
        await fixture.stop()
    }

    @Test func listNeverEscapesTheWorkspace() async throws {
        let fixture = try await EscapeFixture.make()
        let ws = fixture.workspace
        let canary = fixture.canaryName
        let refused = [
            "..", "../", "../\(canary)", "in/../..", "in/../../\(canary)", "/", "/etc", fixture.canary, ws + "/..",
            "abs-out", "abs-out/", "abs-out/sub", "rel-out", "sub/rel-out2", "sub/rel-out-deep", "chain1", "chain1/sub",
            "loop1", "selfloop", "loop1/x",
        ]
        for path in refused {
            let (status, listing, error) = try await fixture.client.listDirectory(path)
            #expect(status == 400, "list \(path): \(status)")
            #expect(listing == nil)
            #expect(error?.error == "bad_request", "list \(path)")
        }
        // Inside, by an absolute path, an absolute symlink, a chain, `..` back to the root.
        for path in [ws + "/in", "abs-in", "chain-in1", "sub/../in", "in/.."] {
            let (status, listing, _) = try await fixture.client.listDirectory(path)
            #expect(status == 200, "list \(path)")
            #expect(listing?.entries.contains { $0.name == "file.txt" || $0.name == "in" } == true, "list \(path)")
            #expect(listing?.entries.contains { $0.name == "secret.txt" || $0.name == "canary-only-entry" } == false)
        }
        fixture.checkNothingOutsideChanged()
        await fixture.stop()
    }

    @Test func readNeverEscapesTheWorkspace() async throws {
        let fixture = try await EscapeFixture.make()
        let ws = fixture.workspace
        let canary = fixture.canaryName
        let refused = [
            "..", "../\(canary)/secret.txt", "in/../../\(canary)/secret.txt", "/etc/passwd", "/etc/shadow",
            fixture.canary + "/secret.txt", ws + "/../\(canary)/secret.txt", "abs-out-file", "abs-out/secret.txt",
            "abs-out/sub/deep.txt", "rel-out/secret.txt", "sub/rel-out2/secret.txt", "sub/rel-out-deep/secret.txt",
            "chain1/secret.txt", "chain-file1", "chain-file2", "loop1", "selfloop", "loop1/x",
        ]
        for path in refused {
            let (status, body) = try await fixture.client.readFile(path)
            #expect(status == 400, "read \(path): \(status)")
            let text = String(decoding: body, as: UTF8.self)
            #expect(!text.contains("CANARY") && !text.contains("root:"), "read \(path) leaked \(text)")
        }
        for path in [ws + "/in/file.txt", "abs-in/file.txt", "chain-in1/file.txt", "sub/../in/file.txt", "./in//file.txt"] {
            let (status, body) = try await fixture.client.readFile(path)
            #expect(status == 200, "read \(path)")
            #expect(body == Array("INSIDE".utf8), "read \(path)")
        }
        fixture.checkNothingOutsideChanged()
        await fixture.stop()
    }

    /// A directory and a symlink to the outside canary are swapped (renameat2 RENAME_EXCHANGE,
    /// so the name always exists) under `swap` while the four endpoints hammer `swap/file`;
    /// the same for a final component `swapf` (regular file ⇄ symlink to the canary's file).
    @Test func symlinkSwappedInMidOperationNeverLetsAnythingOut() async throws {
        let fixture = try await EscapeFixture.make()
        let ws = fixture.workspace
        Disk.mkdir(ws + "/swap")
        Disk.write(ws + "/swap/file", "INSIDE-SWAP")
        Disk.symlink(fixture.canary, at: ws + "/swap-alt")
        Disk.write(ws + "/swapf", "INSIDE-SWAPF")
        Disk.symlink(fixture.canary + "/file", at: ws + "/swapf-alt")
        let client = fixture.client

        let swapper = Swapper(pairs: [(ws + "/swap", ws + "/swap-alt"), (ws + "/swapf", ws + "/swapf-alt")])
        swapper.start()
        #expect(try await eventually { swapper.swaps > 10 }, "the swapper runs")

        let iterations = 300
        let insideContents: Set<[UInt8]> = [Array("INSIDE-SWAP".utf8), Array("STAGED".utf8), Array("INSIDE-SWAPF".utf8)]
        let outcomes = try await withThrowingTaskGroup(of: [String: Int].self) { group in
            group.addTask {
                var counts: [String: Int] = [:]
                for _ in 0..<iterations {
                    let response = try await client.stage("swap/file", text: "STAGED")
                    counts[response.staged.isEmpty ? "stage skipped: \(response.skipped.first?.reason ?? "")" : "stage ok", default: 0] += 1
                }
                return counts
            }
            group.addTask {
                var counts: [String: Int] = [:]
                for index in 0..<iterations {
                    let path = index % 2 == 0 ? "swap/file" : "swapf"
                    let (status, body) = try await client.readFile(path)
                    if status == 200 {
                        #expect(insideContents.contains(body), "read \(path) returned \(String(decoding: body, as: UTF8.self))")
                    }
                    counts["read \(status)", default: 0] += 1
                }
                return counts
            }
            group.addTask {
                var counts: [String: Int] = [:]
                for _ in 0..<iterations {
                    let (status, listing, _) = try await client.listDirectory("swap")
                    if let listing {
                        let names = Set(listing.entries.map(\.name))
                        #expect(names.isDisjoint(with: ["secret.txt", "canary-only-entry", "sub"]), "listed the outside: \(names)")
                    }
                    counts["list \(status)", default: 0] += 1
                }
                return counts
            }
            group.addTask {
                var counts: [String: Int] = [:]
                for _ in 0..<iterations {
                    let response = try await client.deletePaths(["swap/file"])
                    counts[response.deleted.isEmpty ? "delete skipped: \(response.skipped.first?.reason ?? "")" : "delete ok", default: 0] += 1
                }
                return counts
            }
            var merged: [String: Int] = [:]
            for try await counts in group { merged.merge(counts, uniquingKeysWith: +) }
            return merged
        }
        swapper.stop()
        // Every answer is one the API gives for a path that is inside, outside or changing:
        // done, or refused as an escape, missing or changing — never anything else.
        let refusals = [SkipReason.escapesWorkspace, SkipReason.notFound, SkipReason.changing, SkipReason.notADirectory]
        let allowed = Set(
            ["stage ok", "delete ok", "read 200", "read 400", "read 403", "read 404", "read 409", "list 200", "list 400", "list 404", "list 409"]
                + refusals.flatMap { ["stage skipped: \($0)", "delete skipped: \($0)"] })
        let unexpected = outcomes.filter { !allowed.contains($0.key) }
        #expect(unexpected.isEmpty, "answers outside the contract: \(unexpected); all: \(outcomes.sorted { $0.key < $1.key })")
        #expect(outcomes.values.reduce(0, +) == 4 * iterations, "every operation answered: \(outcomes)")
        #expect(swapper.swaps > 0)
        #expect(swapper.failures == 0, "renameat2 failed \(swapper.failures) times")
        fixture.checkNothingOutsideChanged()
        #expect(Disk.text(fixture.canary + "/file") == EscapeFixture.canaryFile)
        // A race is refused like any escape, never answered as a server error.
        let serverErrors = outcomes.filter { $0.key.hasPrefix("read 5") || $0.key.hasPrefix("list 5") }
        #expect(serverErrors.isEmpty, "a swap race gave server errors: \(serverErrors)")
        // The workspace is consistent afterwards: `swap` is a dir or the link, nothing else.
        #expect(Disk.isDirectory(ws + "/swap") != Disk.isDirectory(ws + "/swap-alt"))
        #expect(try await client.health().ok)
        await fixture.stop()
    }

    // MARK: The state dir

    @Test func stateDirIsReservedForEveryEndpoint() async throws {
        let fixture = try await EscapeFixture.make()
        let ws = fixture.workspace
        let client = fixture.client
        #expect(try await client.run("probe", ["true"]).exit?.exitCode == 0)
        let state = ws + "/.runnerd"
        let journalFile = state + "/execs/slot-0.ndjson"
        #expect(Disk.isRegular(journalFile), "the journal has the exec's slot")
        Disk.symlink(".runnerd", at: ws + "/sd")
        Disk.symlink(state, at: ws + "/sd-abs")
        Disk.symlink(".runnerd/execs", at: ws + "/sd-execs")
        let stateBefore = Disk.snapshot(state)

        // Stage: nothing is written into the state dir, whatever the spelling.
        let stagePaths = [".runnerd/new", ".runnerd/execs/slot-0.ndjson", ".runnerd/execs/slot-9.ndjson", state + "/execs/x", "sd/new", "sd-abs/execs/x", "sd-execs/slot-0.ndjson", "./.runnerd/x", "in/../.runnerd/x"]
        let staged = try await client.stage(stagePaths.map { StageFile(path: $0, contentBase64: Base64.encode(Array("EVIL".utf8))) })
        #expect(staged.staged.isEmpty)
        #expect(staged.skipped == stagePaths.map { SkippedPath(path: $0, reason: SkipReason.reserved) })
        let stageDir = try await client.stage(".runnerd", text: "EVIL")
        #expect(stageDir.staged.isEmpty, "the state dir is not replaced by a file")

        // List and read: refused (4xx), named as reserved.
        for path in [".runnerd", ".runnerd/execs", state, "sd", "sd-abs", "sd-execs", "sd/execs"] {
            let (status, listing, error) = try await client.listDirectory(path)
            #expect(status == 400, "list \(path)")
            #expect(listing == nil)
            #expect(error?.message == SkipReason.reserved, "list \(path) says why: \(error?.message ?? "")")
        }
        for path in [".runnerd/execs/slot-0.ndjson", "sd/execs/slot-0.ndjson", "sd-execs/slot-0.ndjson", journalFile] {
            let (status, body) = try await client.readFile(path)
            #expect(status == 400, "read \(path)")
            #expect(!String(decoding: body, as: UTF8.self).contains("argvDigest"), "read \(path) leaked the journal")
            #expect((try? WireJSON.decode(ErrorBody.self, from: body))?.message == SkipReason.reserved, "read \(path) says why")
        }

        // Delete: refused for the state dir itself and everything in it, by every spelling.
        let deletePaths = [".runnerd/execs/slot-0.ndjson", ".runnerd/execs", "sd/execs", "sd-execs/slot-0.ndjson", state + "/execs", ".runnerd", state, "./.runnerd"]
        let deleted = try await client.deletePaths(deletePaths)
        #expect(deleted.deleted.isEmpty, "deleted from the state dir: \(deleted.deleted)")
        #expect(deleted.skipped == deletePaths.map { SkippedPath(path: $0, reason: SkipReason.reserved) })
        // Deleting a symlink to it removes only the link.
        #expect(try await client.deletePaths(["sd"]).deleted == ["sd"])
        #expect(Disk.isDirectory(state), "the state dir survived")
        #expect(Disk.snapshot(state) == stateBefore, "the journal was not touched")
        #expect(try await client.status("probe").exitCode == 0)
        fixture.checkNothingOutsideChanged()
        await fixture.stop()
    }

    @Test func stateDirIsNotReachableByTheAgent() async throws {
        let runnerd = try await RunnerdProcess.start()
        let client = runnerd.client
        #expect(try await client.run("probe", ["true"]).exit?.exitCode == 0)
        let attempts = [
            "ls .runnerd", "ls .runnerd/execs", "cat .runnerd/execs/slot-0.ndjson", "touch .runnerd/x",
            "echo x > .runnerd/execs/slot-0.ndjson", "echo x > .runnerd/execs/slot-7.ndjson",
        ]
        for (index, script) in attempts.enumerated() {
            let result = try await client.run("try-\(index)", ["sh", "-c", script])
            #expect(result.exit?.exitCode != 0, "\(script) must fail")
            #expect(String(decoding: result.stderr, as: UTF8.self).contains("Permission denied"), "\(script): \(String(decoding: result.stderr, as: UTF8.self))")
        }
        let state = Disk.realPath(runnerd.workspace) + "/.runnerd"
        #expect(Disk.lstat(state).map { $0.st_uid == 0 && $0.st_mode & 0o777 == 0o700 } == true, "root-owned, 0700")
        #expect(!Disk.exists(state + "/x"))
        await runnerd.stop()
    }

    /// The agent owns the workspace, so it can rename runnerd's state dir and put its own in
    /// place. runnerd must never be fooled by that: it works only through the directory fd it
    /// opened at boot (so root never writes through the agent's symlinks), and at the next boot
    /// a state dir that is not runnerd's own is moved aside and a fresh private one is made.
    @Test func stateDirCannotBeHijackedByTheAgent() async throws {
        let victimDir = Disk.realPath(RunnerdProcess.makeTempDir("runnerd-victim"))
        defer { try? FileManager.default.removeItem(atPath: victimDir) }
        chmod(victimDir, 0o755)
        Disk.write(victimDir + "/victim.txt", "VICTIM-ORIGINAL")
        Disk.write(victimDir + "/victim2.txt", "VICTIM-ORIGINAL")
        let victimBefore = Disk.snapshot(victimDir)
        let runnerd = try await RunnerdProcess.start()
        let client = runnerd.client
        let workspace = Disk.realPath(runnerd.workspace)
        let state = workspace + "/.runnerd"
        #expect(try await client.run("before", ["true"]).exit?.exitCode == 0)

        // The agent moves the real state dir away and plants symlinks where journal files go.
        let plant = [
            "mv .runnerd .stolen", "mkdir -p .runnerd/execs",
            "for i in 0 1 2 3 4 5; do ln -s \(victimDir)/victim.txt .runnerd/execs/slot-$i.ndjson; done",
            "for i in 0 1 2 3 4 5; do ln -s \(victimDir)/victim2.txt .runnerd/execs/.slot-$i.ndjson.compact; done",
        ].joined(separator: " && ")
        #expect(try await client.run("hijack", ["sh", "-c", plant]).exit?.exitCode == 0)
        // runnerd goes on journaling in its own directory, never through the agent's links.
        let pwn = try await client.run("pwn", ["echo", "written by root through the agent's symlink"])
        #expect(pwn.exit?.exitCode == 0)
        #expect(Disk.snapshot(victimDir) == victimBefore, "runnerd wrote outside the workspace: \(Disk.text(victimDir + "/victim.txt") ?? "")")
        // "before" took slot 0, "hijack" slot 1, "pwn" slot 2, in the directory runnerd opened.
        #expect(Disk.isRegular(workspace + "/.stolen/execs/slot-2.ndjson"), "the journal is still written where runnerd opened it")
        #expect(try await client.status("pwn").exitCode == 0)
        // The agent cannot read the real journal where it moved it.
        let peek = try await client.run("peek", ["sh", "-c", "cat .stolen/execs/slot-2.ndjson"])
        #expect(peek.exit?.exitCode != 0)
        await runnerd.stop()

        // Next boot: the planted directory is not runnerd's; it is moved aside, never used.
        let restarted = try await RunnerdProcess.start(workspace: workspace)
        #expect(Disk.lstat(state).map { $0.st_uid == 0 && $0.st_mode & 0o777 == 0o700 } == true, "a fresh, private state dir")
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: state + "/execs")) ?? []
        #expect(entries.allSatisfy { Disk.isRegular(state + "/execs/" + $0) }, "the agent's links are not in runnerd's state dir: \(entries)")
        #expect(try await restarted.client.run("after", ["echo", "x"]).exit?.exitCode == 0)
        #expect(Disk.snapshot(victimDir) == victimBefore)
        await restarted.stop()
    }

    /// A NUL byte in a path must not reach the kernel: C would see only the bytes before it, so
    /// `"..\u{0}x"` would name `..` to the syscalls while the walk treats it as a plain name.
    /// The workspace sits in its own throw-away parent here, because a delete that followed
    /// that `..` would empty the workspace's parent directory.
    @Test func nulByteInAPathNeverReachesTheKernel() async throws {
        let base = Disk.realPath(RunnerdProcess.makeTempDir("runnerd-nul"))
        defer { try? FileManager.default.removeItem(atPath: base) }
        let parent = base + "/parent"
        let workspace = parent + "/ws"
        Disk.mkdir(workspace + "/dir")
        Disk.write(workspace + "/dir/x.txt", "in dir")
        Disk.write(workspace + "/keep.txt", "keep")
        Disk.mkdir(parent + "/sibling")
        Disk.write(parent + "/sibling/keep.txt", "SIBLING")
        let parentBefore = Disk.snapshot(parent + "/sibling")
        let runnerd = try await RunnerdProcess.start(workspace: workspace)
        let client = runnerd.client

        // Read and list: refused, nothing from the parent.
        for path in ["..\u{0}", "..\u{0}/sibling/keep.txt", "dir/..\u{0}/..\u{0}/sibling/keep.txt", "keep.txt\u{0}.png"] {
            let read = try await client.readFile(path)
            #expect(!String(decoding: read.body, as: UTF8.self).contains("SIBLING"), "read \(path.debugDescription)")
            #expect((400..<500).contains(read.status), "read \(path.debugDescription) is refused, not \(read.status)")
            let list = try await client.listDirectory(path)
            #expect(list.listing?.entries.contains { $0.name == "sibling" || $0.name == "ws" } != true, "list \(path.debugDescription)")
        }
        // Stage: nothing is written into the parent.
        let staged = try await client.stage(["..\u{0}/sibling/keep.txt", "..\u{0}/evil.txt"].map { StageFile(path: $0, contentBase64: Base64.encode(Array("EVIL".utf8))) })
        #expect(staged.staged.isEmpty, "\(staged.staged)")

        // Delete: `.\0`, `dir/..\0` (the workspace itself) and `..\0` (its parent) are refused.
        for path in [".\u{0}", "dir/..\u{0}", "..\u{0}", "..\u{0}/sibling"] {
            let deleted = try await client.deletePaths([path])
            #expect(deleted.deleted.isEmpty, "delete \(path.debugDescription) was done")
            #expect(deleted.skipped.count == 1, "delete \(path.debugDescription)")
        }
        #expect(Disk.text(workspace + "/keep.txt") == "keep", "the workspace was emptied")
        #expect(Disk.text(workspace + "/dir/x.txt") == "in dir")
        #expect(Disk.isDirectory(workspace + "/.runnerd"), "the state dir was deleted")
        #expect(Disk.snapshot(parent + "/sibling") == parentBefore, "the workspace's parent was emptied")
        #expect(Disk.names(parent) == ["ws", "sibling"])
        await runnerd.stop()
    }
}

/// Swaps pairs of names with renameat2(RENAME_EXCHANGE) on a thread until stopped (bounded).
private final class Swapper: Sendable {
    private let pairs: [(String, String)]
    private let stopped = Atomic<Bool>(false)
    private let swapCount = Atomic<Int>(0)
    private let failureCount = Atomic<Int>(0)
    private let finished = DispatchSemaphore(value: 0)

    init(pairs: [(String, String)]) { self.pairs = pairs }

    var swaps: Int { swapCount.load(ordering: .relaxed) }
    var failures: Int { failureCount.load(ordering: .relaxed) }

    func start() {
        let thread = Thread { [self] in
            typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "renameat2") else {
                failureCount.add(1, ordering: .relaxed)
                finished.signal()
                return
            }
            let renameat2 = unsafeBitCast(symbol, to: RenameAt2.self)
            let exchange: UInt32 = 2  // RENAME_EXCHANGE
            var rounds = 0
            while !stopped.load(ordering: .relaxed) && rounds < 5_000_000 {
                for (a, b) in pairs {
                    if renameat2(AT_FDCWD, a, AT_FDCWD, b, exchange) == 0 {
                        swapCount.add(1, ordering: .relaxed)
                    } else {
                        failureCount.add(1, ordering: .relaxed)
                    }
                }
                rounds += 1
                if rounds % 64 == 0 { usleep(100) }  // leave the 2 cores some air
            }
            finished.signal()
        }
        thread.start()
    }

    func stop() {
        stopped.store(true, ordering: .relaxed)
        finished.wait()
    }
}
