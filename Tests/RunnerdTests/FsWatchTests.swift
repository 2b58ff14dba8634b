import Foundation
import RunnerProtocol
import RunnerdClient
import Synchronization
import Testing
import TestSupport

/// A watch stream read in the background.
final class WatchCollector: Sendable {
    private let events = Locked<[FsWatchEvent]>([])
    private let ended = Locked(false)
    private let task: Task<Void, any Error>

    init(_ client: RunnerdClient, path: String = "", recursive: Bool = true) {
        let events = self.events
        let ended = self.ended
        task = Task {
            defer { ended.update { $0 = true } }
            for try await event in try await client.watch(path, recursive: recursive) {
                events.update { $0.append(event) }
            }
        }
    }

    var all: [FsWatchEvent] { events.value }
    var fsEvents: [FsWatchEvent] { all.filter { $0.t == .fs } }
    var hasEnded: Bool { ended.value }

    func waitFor(timeout: Duration = .seconds(20), _ condition: @escaping ([FsWatchEvent]) -> Bool) async throws -> Bool {
        try await eventually(timeout: timeout) { condition(all) }
    }

    /// Waits for an fs event `op` on `path`.
    func waitFor(_ op: FsWatchEvent.Op, _ path: String) async throws -> Bool {
        try await waitFor { $0.contains { $0.op == op && $0.path == path } }
    }

    func cancel() { task.cancel() }
}

@Suite("file watch", .timeLimit(.minutes(4)))
struct FsWatchTests {
    /// (op, path, type, from) of fs events, in order.
    static func summary(_ events: [FsWatchEvent]) -> [String] {
        events.filter { $0.t == .fs }.map { "\($0.op!.rawValue) \($0.path!) \($0.type!.rawValue)" + ($0.from.map { " from \($0)" } ?? "") }
    }

    /// create + write in place (Foundation's createFile writes a temp file and renames it).
    static func write(_ path: String, _ text: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        _ = text.utf8CString.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count - 1) }
        close(fd)
    }

    @Test func createWriteRenameRemoveInNestedNewDirectoriesInOrder() async throws {
        let runnerd = try await RunnerdProcess.start()
        let client = runnerd.client
        let watch = WatchCollector(client)
        #expect(try await watch.waitFor { $0.first?.t == .watching })
        let first = try #require(watch.all.first)
        #expect(first.seq == 1)
        #expect(first.path == "")

        // Each step waits for the previous one's events: the order is then the kernel's.
        #expect(try await client.runShell("mk", "mkdir -p a/b/c").exit?.exitCode == 0)
        #expect(try await watch.waitFor(.create, "a/b/c"))
        #expect(try await client.runShell("write", "printf hello > a/b/c/f.txt").exit?.exitCode == 0)
        #expect(try await watch.waitFor(.write, "a/b/c/f.txt"))
        #expect(try await client.runShell("mv", "mv a/b/c/f.txt a/b/c/g.txt").exit?.exitCode == 0)
        #expect(try await watch.waitFor(.rename, "a/b/c/g.txt"))
        #expect(try await client.runShell("rm", "rm a/b/c/g.txt").exit?.exitCode == 0)
        #expect(try await watch.waitFor(.remove, "a/b/c/g.txt"))
        // A renamed directory keeps being watched, under its new name.
        #expect(try await client.runShell("mvdir", "mv a/b a/renamed && touch a/renamed/c/late").exit?.exitCode == 0)
        #expect(try await watch.waitFor(.create, "a/renamed/c/late"))
        #expect(try await client.runShell("rmdir", "rm -r a").exit?.exitCode == 0)
        #expect(try await watch.waitFor(.remove, "a"))

        let summary = Self.summary(watch.all)
        #expect(summary == [
            "create a dir", "create a/b dir", "create a/b/c dir",
            "create a/b/c/f.txt file", "write a/b/c/f.txt file",
            "rename a/b/c/g.txt file from a/b/c/f.txt",
            "remove a/b/c/g.txt file",
            "rename a/renamed dir from a/b", "create a/renamed/c/late file",
            "remove a/renamed/c/late file", "remove a/renamed/c dir", "remove a/renamed dir", "remove a dir",
        ], "\(summary)")
        let seqs = watch.all.map(\.seq)
        #expect(seqs == Array(1...UInt64(seqs.count)), "seqs 1, 2, 3, … without holes")
        #expect(!watch.all.contains { $0.path?.hasPrefix(".runnerd") == true }, "runnerd's state dir (the exec journal) is never reported")
        #expect(!watch.hasEnded)
        watch.cancel()
        await runnerd.stop()
    }

    @Test func aSubdirectoryWatchReportsWorkspaceRelativePathsAndEndsWhenRemoved() async throws {
        let runnerd = try await RunnerdProcess.start()
        let client = runnerd.client
        try FileManager.default.createDirectory(atPath: runnerd.workspace + "/sub/deep", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: runnerd.workspace + "/other", withIntermediateDirectories: true)
        let watch = WatchCollector(client, path: "sub", recursive: false)
        #expect(try await watch.waitFor { $0.first?.t == .watching && $0.first?.path == "sub" })
        Self.write(runnerd.workspace + "/other/ignored", "x")
        Self.write(runnerd.workspace + "/sub/deep/not-recursive", "x")
        Self.write(runnerd.workspace + "/sub/here", "x")
        #expect(try await watch.waitFor(.write, "sub/here"))
        #expect(Self.summary(watch.all) == ["create sub/here file", "write sub/here file"], "\(Self.summary(watch.all))")
        try FileManager.default.removeItem(atPath: runnerd.workspace + "/sub")
        #expect(try await eventually { watch.hasEnded }, "the stream ends with its directory")
        await runnerd.stop()
    }

    @Test func pathsAreCheckedLikeTheFilesAPI() async throws {
        let runnerd = try await RunnerdProcess.start()
        let client = runnerd.client
        try FileManager.default.createDirectory(atPath: runnerd.workspace + "/dir", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: runnerd.workspace + "/file", contents: nil)
        try FileManager.default.createSymbolicLink(atPath: runnerd.workspace + "/out", withDestinationPath: "/etc")
        func status(_ query: String) async throws -> Int {
            try await client.call(.GET, "/fs/watch?\(query)").status
        }
        #expect(try await status("path=missing") == 404)
        #expect(try await status("path=file") == 404, "a file is not a directory to watch")
        #expect(try await status("path=../..") == 400)
        #expect(try await status("path=/etc") == 400)
        #expect(try await status("path=out") == 400, "a symlink out of the workspace")
        #expect(try await status("path=.runnerd") == 400, "runnerd's state directory")
        #expect(try await status("path=dir&recursive=maybe") == 400)
        #expect(try await RunnerdClient(baseURL: runnerd.baseURL, token: "wrong").call(.GET, "/fs/watch?path=dir").status == 401)
        await runnerd.stop()
    }

    @Test func aWatcherThatStopsReadingIsDroppedWithoutGrowingRunnerd() async throws {
        let runnerd = try await RunnerdProcess.start()
        let client = runnerd.client
        /// runnerd's inotify descriptors (one per live watch).
        func inotifyFDs() -> Int {
            ((try? Descriptors.targets(of: runnerd.pid)) ?? []).filter { $0 == "anon_inode:inotify" }.count
        }
        #expect(inotifyFDs() == 0)
        let rssBefore = runnerd.rssKB
        let stalled = try RawConnection(port: runnerd.port, receiveBuffer: 4096)
        stalled.send("GET /fs/watch?path=&recursive=true HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(runnerd.token!)\r\n\r\n")
        #expect(try await eventually { inotifyFDs() == 1 }, "the watch is armed")
        // Writes to two files in turn (the kernel merges repeats of one event): ~70 bytes of
        // event each, until the test says stop.
        let flood = LiveExec(client, ExecRequest(execId: "flood", command: ["/usr/bin/python3", "-c", """
            import os, time
            a = os.open("a", os.O_WRONLY | os.O_CREAT); b = os.open("b", os.O_WRONLY | os.O_CREAT)
            end = time.monotonic() + 90
            while not os.path.exists("stop") and time.monotonic() < end:
                for _ in range(1000):
                    os.write(a, b"x"); os.write(b, b"y")
            print("done")
            """], timeoutMs: 120_000))
        // Dropped: the connection and the inotify descriptor are closed.
        let dropped = try await eventually(timeout: .seconds(100)) {
            let metrics = String(decoding: try await client.call(.GET, "/metrics").body, as: UTF8.self)
            return metrics.split(separator: "\n").contains { $0.hasPrefix("runnerd_consumers_dropped_total") && $0.hasSuffix(" 1") }
        }
        #expect(dropped)
        FileManager.default.createFile(atPath: runnerd.workspace + "/stop", contents: nil)
        #expect(try await flood.result().exit?.exitCode == 0)
        #expect(try await eventually { inotifyFDs() == 0 }, "the dropped watch's inotify descriptor is closed")
        let growthKB = runnerd.rssKB - rssBefore
        #expect(growthKB < 40 * 1024, "runnerd grew by \(growthKB) KiB: the backlog is capped at 8 MiB")
        let (bytes, eof) = stalled.readToEnd(timeout: 20)
        #expect(eof, "the stalled watcher's connection was closed")
        #expect(bytes.count < 16 << 20)
        // A new watch works.
        let watch = WatchCollector(client)
        #expect(try await watch.waitFor { $0.first?.t == .watching })
        watch.cancel()
        await runnerd.stop()
    }
}
