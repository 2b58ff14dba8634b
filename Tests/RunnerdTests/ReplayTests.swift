import Foundation
import NIOCore
import RunnerProtocol
import RunnerdClient
import Testing
import TestSupport

@Suite("replay ring, attach and slow consumers", .timeLimit(.minutes(10)))
struct ReplayTests {
    /// The script writes numbered lines in bursts; the expected bytes are computed here.
    static let script = "for b in 1 2 3 4 5; do i=0; while [ $i -lt 400 ]; do echo \"burst $b line $i\"; i=$((i+1)); done; sleep 0.2; done"
    static var expected: String {
        var text = ""
        for burst in 1...5 { for line in 0..<400 { text += "burst \(burst) line \(line)\n" } }
        return text
    }

    @Test func disconnectMidStreamThenAttachSinceSeqIsByteIdentical() async throws {
        let runnerd = try await RunnerdProcess.start()
        let client = runnerd.client
        // First connection: read until some output of the second burst arrived, then hang up.
        var firstPart: [ExecEvent] = []
        let request = ExecRequest(execId: "resume", shell: Self.script, timeoutMs: 60_000)
        let lines = try await client.execLines(request)
        for try await line in lines {
            let event = try WireJSON.decode(ExecEvent.self, from: line.readableBytesView)
            firstPart.append(event)
            if case .stdout(let bytes) = event.body, String(decoding: bytes, as: UTF8.self).contains("burst 2") { break }
        }
        // Leaving the loop drops the response body: async-http-client closes the connection.
        #expect(firstPart.last?.isTerminal == false, "the first connection was cut before the end")
        let lastSeq = try #require(firstPart.last?.seq)
        let rest = try await client.attachAll("resume", sinceSeq: lastSeq)
        let whole = ExecResult(events: firstPart + rest.events)
        whole.checkSequence()
        #expect(whole.stdoutText == Self.expected)
        #expect(whole.exit?.exitCode == 0)
        await runnerd.stop()
    }

    @Test func attachOlderThanTheRingGetsAGapNamingTheMissingSeqs() async throws {
        let runnerd = try await RunnerdProcess.start()
        // ~1 MiB in 4 KiB writes: far more than the 256 KiB ring holds.
        let result = try await runnerd.client.run("big", ["sh", "-c", "head -c 1048576 /dev/zero | dd bs=4096 2>/dev/null"])
        #expect(result.stdout.count == 1_048_576)
        let replay = try await runnerd.client.attachAll("big", sinceSeq: 0)
        guard case .gap(let gap) = replay.events.first?.body else {
            Issue.record("first replayed event is not a gap: \(String(describing: replay.events.first))")
            return
        }
        #expect(gap.fromSeq == 1)
        #expect(replay.events.first?.seq == gap.toSeq)
        let retained = Array(replay.events.dropFirst())
        #expect(retained.first?.seq == gap.toSeq + 1, "the replay goes on right after the gap")
        ExecResult(events: retained).checkSequence(from: gap.toSeq + 1)
        #expect(retained.last?.seq == result.events.last?.seq)
        // The retained events are exactly the tail of the original log.
        #expect(Array(result.events.suffix(retained.count)) == retained)
        let encoded = retained.reduce(0) { $0 + EventWriter.line($1).readableBytes }
        #expect(encoded <= Limits.replayRingBytes)
        #expect(encoded > Limits.replayRingBytes / 2)
        // Attach within the ring: no gap.
        let tail = try await runnerd.client.attachAll("big", sinceSeq: result.events.last!.seq - 3)
        #expect(tail.events.map(\.seq) == Array((result.events.last!.seq - 2)...result.events.last!.seq))
        await runnerd.stop()
    }

    @Test func attachToUnknownExecIs404() async throws {
        let runnerd = try await RunnerdProcess.start()
        let (code, _) = try await runnerd.client.call(.GET, "/execs/nope/attach?sinceSeq=0")
        #expect(code == 404)
        let (badCode, _) = try await runnerd.client.call(.GET, "/execs/nope/attach?sinceSeq=-1")
        #expect(badCode == 400)
        await runnerd.stop()
    }

    @Test func severalConsumersSeeTheSameLog() async throws {
        let runnerd = try await RunnerdProcess.start()
        let client = runnerd.client
        // It waits for `go` before its output, so the attach below meets it running.
        let first = Task { try await client.runShell("multi", "while [ ! -e go ]; do sleep 0.05; done; " + Self.script) }
        #expect(try await eventually { try await client.status("multi").state == .running })
        let second = Task { try await client.attachAll("multi") }
        #expect(FileManager.default.createFile(atPath: runnerd.workspace + "/go", contents: nil))
        let replayed = try await second.value
        let original = try await first.value
        #expect(replayed.events == original.events)
        #expect(original.stdoutText == Self.expected)
        await runnerd.stop()
    }

    @Test func consumerThatNeverReadsIsDroppedWhileTheExecAndOthersGoOn() async throws {
        let runnerd = try await RunnerdProcess.start()
        let total = 64 << 20
        let stalled = try RawConnection(port: runnerd.port, receiveBuffer: 4096)
        stalled.post(
            "/execs", token: runnerd.token,
            json: #"{"execId":"flood","command":["head","-c","\#(total)","/dev/zero"],"timeoutMs":0,"stdoutMaxBytes":0,"stderrMaxBytes":0}"#)
        #expect(try await eventually { (try? await runnerd.client.status("flood").state) != nil })
        // A second consumer that reads everything.
        let reader = try await runnerd.client.attachAll("flood")
        #expect(reader.exit?.exitCode == 0)
        let gapless = reader.events.first.map { if case .gap = $0.body { false } else { true } } ?? false
        if gapless { #expect(reader.stdout.count == total) }
        let status = try await runnerd.client.waitUntilExited("flood")
        #expect(status.exitCode == 0)
        // runnerd stayed bounded: the stalled consumer's backlog was capped at 8 MiB.
        #expect(runnerd.rssKB < 96 * 1024, "runnerd RSS \(runnerd.rssKB) KiB")
        // The stalled connection was cut: what it can still read ends without the exit event.
        let (bytes, eof) = stalled.readToEnd(timeout: 20)
        #expect(eof, "the stalled consumer's connection was closed")
        let encodedTotal = Base64.encodedLength(total)
        #expect(bytes.count < encodedTotal / 2, "the stalled consumer got \(bytes.count) bytes, not the whole stream")
        #expect(!String(decoding: bytes.suffix(4096), as: UTF8.self).contains("\"t\":\"exit\""))
        await runnerd.stop()
    }

    @Test func slowButSteadyConsumerIsPacedNotDropped() async throws {
        let runnerd = try await RunnerdProcess.start()
        let total = 24 << 20
        var received = 0
        var events: [ExecEvent] = []
        for try await event in try await runnerd.client.exec(ExecRequest(execId: "paced", command: ["head", "-c", "\(total)", "/dev/zero"], timeoutMs: 0)) {
            if case .stdout(let bytes) = event.body {
                received += bytes.count
                // ~40 MB/s: far slower than the pipe, so runnerd must wait for this reader.
                if received % (1 << 20) < bytes.count { try await Task.sleep(for: .milliseconds(25)) }
            }
            events.append(event)
        }
        ExecResult(events: events).checkSequence()
        #expect(received == total)
        await runnerd.stop()
    }
}
