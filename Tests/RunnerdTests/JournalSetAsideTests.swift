import Foundation
import RunnerProtocol
import RunnerdClient
import Testing

/// Slot files that cannot be loaded never stop runnerd from starting: each is logged and moved
/// to `<stateDir>/set-aside`, its slot is used again, and every good slot is still recovered.
@Suite("journal: records that do not load are set aside", .timeLimit(.minutes(5)))
struct JournalSetAsideTests {
    /// A slot file's header line, the way runnerd writes it, with any value.
    static func header(execId: String = "bad", ordinal: String = "1", startedAtMs: String = "1000", pid: String? = nil) -> String {
        #"{"j":"exec","execId":"\#(execId)","argvDigest":"d","startedAtMs":\#(startedAtMs),"ordinal":\#(ordinal)"#
            + (pid.map { #","pid":\#($0)"# } ?? "") + "}\n"
    }

    static func exitLine(seq: String, durationMs: String = "5") -> String {
        #"{"seq":\#(seq),"t":"exit","exitCode":0,"durationMs":\#(durationMs),"truncated":{"stdout":false,"stderr":false},"timedOut":false,"cancelled":false}"#
            + "\n"
    }

    static func trailer(finishOrder: String = "1", endedAtMs: String = "2000") -> String {
        #"{"j":"end","endedAtMs":\#(endedAtMs),"finishOrder":\#(finishOrder)}"# + "\n"
    }

    /// Hostile and corrupted slot files, by slot number. Several of them made runnerd trap at
    /// boot, every restart (counters and times counted on from a value at the top of its type).
    static let hostile: [Int: String] = [
        1: "",
        2: "garbage without a newline",
        3: "{\"j\":\"exec\"\n",
        4: header(ordinal: "18446744073709551615") + exitLine(seq: "1") + trailer(),
        5: header(execId: "mark") + #"{"j":"mark","seq":18446744073709551615}"# + "\n",
        6: header(execId: "late", startedAtMs: "9223372036854775807") + exitLine(seq: "1", durationMs: "9223372036854775807"),
        7: header(execId: "order") + exitLine(seq: "1") + trailer(finishOrder: "18446744073709551615"),
        8: header(execId: "not an id!") + exitLine(seq: "1") + trailer(),
        9: header(execId: "pid0", pid: "0"),
        10: header(execId: "early", startedAtMs: "-9223372036854775808"),
        11: header(execId: "seq") + exitLine(seq: "18446744073709551615") + trailer(),
    ]

    @Test func hostileSlotFilesAreSetAsideAndRunnerdStarts() async throws {
        let workspace = RunnerdProcess.makeTempDir("setaside-ws")
        let stateDir = RunnerdProcess.makeTempDir("setaside-state")
        let environment = ["RUNNERD_STATE_DIR": stateDir]
        // A good exec in the journal first.
        let first = try await RunnerdProcess.start(environment: environment, workspace: workspace)
        let good = try await first.client.run("good", ["echo", "kept"])
        #expect(await first.stop() == 0)
        let execs = stateDir + "/execs"
        let goodSlots = try FileManager.default.contentsOfDirectory(atPath: execs)
        #expect(goodSlots == ["slot-0.ndjson"])

        for (slot, content) in Self.hostile {
            #expect(FileManager.default.createFile(atPath: "\(execs)/slot-\(slot).ndjson", contents: Data(content.utf8)))
        }
        // Not regular files: a directory, a symlink, a FIFO, and a file past the size limit.
        try FileManager.default.createDirectory(atPath: "\(execs)/slot-20.ndjson/inner", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: "\(execs)/slot-21.ndjson", withDestinationPath: "/etc/passwd")
        #expect(mkfifo("\(execs)/slot-22.ndjson", 0o600) == 0)
        #expect(FileManager.default.createFile(atPath: "\(execs)/slot-23.ndjson", contents: nil))
        let huge = try FileHandle(forWritingTo: URL(fileURLWithPath: "\(execs)/slot-23.ndjson"))
        try huge.write(contentsOf: Data(Self.header(execId: "huge").utf8))
        try huge.truncate(atOffset: 65 << 20)
        try huge.close()
        // A leftover that is a directory (not a slot name) is removed, whatever is in it.
        try FileManager.default.createDirectory(atPath: "\(execs)/.slot-0.ndjson.compact/a/b", withIntermediateDirectories: true)

        let second = try await RunnerdProcess.start(token: first.token, environment: environment, workspace: workspace)
        // The good exec is still there, byte for byte.
        #expect(try await second.client.status("good").exitCode == 0)
        #expect(try await second.client.attachAll("good").events == good.events)
        // Every unusable file moved aside, logged, and gone from the journal.
        let setAside = try FileManager.default.contentsOfDirectory(atPath: stateDir + "/set-aside")
        let unusable = Set(Self.hostile.keys).union([20, 21, 22, 23]).map { "slot-\($0).ndjson" }
        // Named `<epoch ms, 15 digits>-<slot file>`.
        #expect(Set(setAside.map { String($0.dropFirst(16)) }) == Set(unusable), "\(setAside.sorted())")
        let remaining = try FileManager.default.contentsOfDirectory(atPath: execs)
        #expect(remaining == ["slot-0.ndjson"], "left in the journal: \(remaining.sorted())")
        let log = second.log
        #expect(log.components(separatedBy: "a slot file cannot be loaded; set aside").count - 1 == unusable.count, "\(log.suffix(5000))")
        for id in ["bad", "mark", "late", "order", "pid0", "early", "seq", "huge"] {
            #expect(try await second.client.status(id).state == .gone, "\(id) was not loaded")
        }
        // The symlink's target is untouched.
        #expect(FileManager.default.fileExists(atPath: "/etc/passwd"))
        // New execs reuse the freed slots, and a third boot is clean.
        for index in 0..<5 { #expect(try await second.client.run("new-\(index)", ["true"]).exit?.exitCode == 0) }
        #expect(await second.stop() == 0)
        let third = try await RunnerdProcess.start(token: first.token, environment: environment, workspace: workspace)
        #expect(try await third.client.status("new-4").exitCode == 0)
        #expect(!third.log.contains("set aside"), "\(third.log.suffix(3000))")
        await third.stop()
    }

    /// The journal directory itself replaced by a file (or its state dir unusable): runnerd
    /// starts anyway.
    @Test func aJournalDirectoryThatIsAFileIsMovedAside() async throws {
        let workspace = RunnerdProcess.makeTempDir("setaside-ws")
        let stateDir = RunnerdProcess.makeTempDir("setaside-state")
        #expect(FileManager.default.createFile(atPath: stateDir + "/execs", contents: Data("not a directory".utf8)))
        let runnerd = try await RunnerdProcess.start(environment: ["RUNNERD_STATE_DIR": stateDir], workspace: workspace)
        #expect(try await runnerd.client.run("works", ["echo", "ok"]).stdoutText == "ok\n")
        var isDirectory: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: stateDir + "/execs", isDirectory: &isDirectory) && isDirectory.boolValue)
        let names = try FileManager.default.contentsOfDirectory(atPath: stateDir)
        #expect(names.contains { $0.hasPrefix("execs.untrusted-") }, "\(names)")
        await runnerd.stop()
    }
}
