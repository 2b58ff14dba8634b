import Foundation
import NIOHTTP1
import RunnerProtocol
import SpawnerClient
import Testing
import TestSupport

/// `PROTOCOL.md` §3 bounds on the spawner's session values, against the real binary: a
/// duration out of range is a `400` (never a crash, never a stored record), and a record that
/// cannot be used is moved aside at boot while the spawner starts.
@Suite(.timeLimit(.minutes(5))) struct SessionBoundsTests {
    static let environment = ["SPAWNER_SWEEP_INTERVAL_MS": "100"]

    static func createBody(_ fields: String) -> [UInt8] {
        Array(#"{"owner":{"kind":"user","id":"a"},"orgId":"o"\#(fields)}"#.utf8)
    }

    @Test func durationsOutOfRangeAre400AndTheSpawnerStaysUp() async throws {
        try await withSpawner(environment: Self.environment) { (spawner: SpawnerProcess) async throws in
            let client = spawner.client
            // The first is the request that used to kill the spawner right after "session ready".
            let refused = [
                #","ttlMs":9223372036854775000"#, #","ttlMs":9223372036854775807"#, #","ttlMs":2592000001"#, #","ttlMs":0"#,
                #","ttlMs":-1"#, #","ttlMs":-9223372036854775808"#, #","idleTimeoutMs":-1"#, #","idleTimeoutMs":2592000001"#,
                #","idleTimeoutMs":9223372036854775807"#, #","ttlMs":18446744073709551615"#, #","ttlMs":1e308"#, #","ttlMs":"1""#,
                #","idleTimeoutMs":-9223372036854775808"#,
            ]
            for fields in refused {
                let (status, error) = try await client.status(.POST, "/v1/sessions", body: Self.createBody(fields))
                #expect(status == 400, "\(fields) answered \(status)")
                #expect(error?.error == SpawnerErrorKind.badRequest, "\(fields)")
            }
            #expect(try await client.listSessions().isEmpty)
            #expect(spawner.sessionDirectories.isEmpty)

            // The bounds themselves are accepted, and swept without trouble.
            let longest = try await client.create("longest", ttlMs: Bounds.ttlMs.upperBound, idleTimeoutMs: Bounds.idleTimeoutMs.upperBound)
            #expect(longest.expiresAtMs == longest.createdAtMs + Bounds.ttlMs.upperBound)
            try await spawner.sweepsComplete()
            #expect(try await client.session("longest").state == .ready)
            #expect(try await spawner.openGET("/healthz").status == 200)
        }
    }

    @Test func unusableRecordsAreMovedAsideAtBootAndTheSpawnerStarts() async throws {
        let first = try await SpawnerProcess.start(environment: Self.environment)
        var current = first
        do {
            let client = first.client
            for id in ["huge-ttl", "garbage", "keeper"] {
                _ = try await client.create(id)
                #expect(try await client.runShell(id, "note", "echo \(id) > note.txt").exit?.exitCode == 0)
            }
            #expect(await first.stop() == 0)
            let pids = Dictionary(uniqueKeysWithValues: ["huge-ttl", "garbage", "keeper"].map { id in
                (id, ProcessScan.processes(mentioning: first.dataDir + "/sessions/\(id)/"))
            })
            #expect(pids.values.allSatisfy { $0.count == 1 })

            // What the old spawner stored for `"ttlMs": 9223372036854775000`, and a record that
            // is not JSON at all.
            let hugePath = first.dataDir + "/sessions/huge-ttl/record.json"
            var record = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: hugePath))) as? [String: Any])
            var labels = try #require(record["labels"] as? [String: Any])
            labels["ttlMs"] = NSNumber(value: Int64(9_223_372_036_854_775_000))
            record["labels"] = labels
            try JSONSerialization.data(withJSONObject: record).write(to: URL(fileURLWithPath: hugePath))
            try Data("{not a record".utf8).write(to: URL(fileURLWithPath: first.dataDir + "/sessions/garbage/record.json"))

            // Twice: a spawner that starts once and dies at its first sweep is not "started".
            for round in 0..<2 {
                current = try await first.restart()
                try await current.sweepsComplete()
                #expect(try await current.client.listSessions().map(\.sessionId) == ["keeper"])
                #expect(await current.stop() == 0)
                if round == 0 {
                    #expect(current.log.contains("session record unusable; moved aside"))
                    #expect(current.log.contains("ttlMs 9223372036854775000 is out of range"))
                }
            }
            current = try await first.restart()
            #expect(current.sessionDirectories == ["keeper"])
            #expect(try await current.client.runShell("keeper", "again", "cat note.txt").stdoutText == "keeper\n")

            // The two unusable sessions: their runnerd stopped, their directories kept aside.
            #expect(ProcessScan.processes(mentioning: first.dataDir + "/sessions/huge-ttl/").isEmpty)
            #expect(ProcessScan.processes(mentioning: first.dataDir + "/sessions/garbage/").isEmpty)
            for id in ["huge-ttl", "garbage"] {
                let pid = try #require(pids[id]?.first)
                #expect(await eventually { ProcessScan.state(pid) == nil || ProcessScan.state(pid) == "Z" }, "runnerd of \(id) still runs")
            }
            let aside = try FileManager.default.contentsOfDirectory(atPath: first.dataDir + "/set-aside").sorted()
            #expect(aside.count == 2)
            for (name, id) in zip(aside, ["garbage", "huge-ttl"]) {
                #expect(name.hasPrefix(id + "-"))
                let note = try String(contentsOfFile: first.dataDir + "/set-aside/\(name)/workspace/note.txt", encoding: .utf8)
                #expect(note == "\(id)\n")
            }
        } catch {
            Issue.record("spawner log:\n\(current.log.suffix(4000))")
            await current.tearDown()
            throw error
        }
        #expect(await current.tearDown().isEmpty)
    }
}
