import NIOCore
import RunnerProtocol
import SpawnerClient
@testable import SpawnerCore
import Testing

/// The proxy's framer: the same messages however the upstream stream is cut.
@Suite(.timeLimit(.minutes(1))) struct SSEFramerTests {
    static func lines() -> [ByteBuffer] {
        var lines: [ByteBuffer] = []
        lines.append(EventWriter.line(ExecEvent(seq: 1, .start(.init(execId: "e", startedAtMs: 5, pid: 9)))))
        lines.append(EventWriter.line(ExecEvent(seq: 2, .stdout(Array(repeating: 0x41, count: 3000)))))
        lines.append(EventWriter.line(ExecEvent(seq: 3, .stderr(Array("x".utf8)))))
        // Not canonical (keys reordered): collected whole, then decoded.
        lines.append(ByteBuffer(string: #"{"t":"stdout","b64":"eHl6","seq":4}"# + "\n"))
        lines.append(EventWriter.line(ExecEvent(seq: 5, .exit(.init(exitCode: 0, durationMs: 1, truncated: .init(stdout: false, stderr: false), timedOut: false, cancelled: false)))))
        return lines
    }

    static func expected(_ lines: [ByteBuffer]) throws -> [UInt8] {
        try lines.flatMap { line -> [UInt8] in
            var trimmed = line
            trimmed.moveWriterIndex(to: trimmed.writerIndex - 1)
            return Array(try #require(SSEFrame.encode(line: trimmed)).readableBytesView)
        }
    }

    @Test func everySplitPointGivesTheSameMessages() throws {
        let lines = Self.lines()
        var stream = ByteBuffer()
        for var line in lines { stream.writeBuffer(&line) }
        let expected = try Self.expected(lines)
        let bytes = Array(stream.readableBytesView)
        for cut in stride(from: 1, to: bytes.count, by: 7) {
            var framer = SSEFramer()
            var skipped = 0
            var out: [UInt8] = []
            for part in [bytes[..<cut], bytes[cut...]] {
                for message in framer.append(ByteBuffer(bytes: part), skipped: &skipped) { out += message.readableBytesView }
            }
            #expect(out == expected, "cut at \(cut)")
            #expect(!framer.isMidLine && skipped == 0)
        }
    }

    @Test func byteAtATime() throws {
        let lines = Self.lines()
        var framer = SSEFramer()
        var skipped = 0
        var out: [UInt8] = []
        for line in lines {
            for byte in line.readableBytesView {
                for message in framer.append(ByteBuffer(bytes: [byte]), skipped: &skipped) { out += message.readableBytesView }
            }
        }
        #expect(out == (try Self.expected(lines)))
    }

    @Test func linesThatAreNotEventsAreSkippedAndCutLinesNoticed() {
        var framer = SSEFramer()
        var skipped = 0
        #expect(framer.append(ByteBuffer(string: "not an event\n{\"seq\":1,\"t\":\"std"), skipped: &skipped).isEmpty)
        #expect(skipped == 1)
        #expect(framer.isMidLine)
    }
}
