import NIOCore
import RunnerProtocol
import RunnerdClient
import SpawnerClient
@testable import SpawnerCore
import Testing

/// The relay's framer: the same bytes however the upstream stream is cut, the bulk of them not
/// copied, and a cap on every line — in the framer and in both clients' line parsers.
@Suite(.timeLimit(.minutes(1))) struct SSEFramerTests {
    static func lines() -> [ByteBuffer] {
        var lines: [ByteBuffer] = []
        lines.append(EventWriter.line(ExecEvent(seq: 1, .start(.init(execId: "e", startedAtMs: 5, pid: 9)))))
        lines.append(EventWriter.line(ExecEvent(seq: 2, .stdout(Array(repeating: 0x41, count: 3000)))))
        lines.append(EventWriter.line(ExecEvent(seq: 3, .stderr(Array("x".utf8)))))
        // Not canonical (keys reordered): collected whole, then decoded.
        lines.append(ByteBuffer(string: #"{"t":"stdout","b64":"eHl6","seq":4}"# + "\n"))
        lines.append(EventWriter.line(ExecEvent(seq: 5, .stdout(Array(repeating: 0x42, count: 65536)))))
        lines.append(EventWriter.line(ExecEvent(seq: 6, .exit(.init(exitCode: 0, durationMs: 1, truncated: .init(stdout: false, stderr: false), timedOut: false, cancelled: false)))))
        return lines
    }

    static func expected(_ lines: [ByteBuffer], eventName: String? = nil) throws -> [UInt8] {
        try lines.flatMap { line -> [UInt8] in
            var trimmed = line
            trimmed.moveWriterIndex(to: trimmed.writerIndex - 1)
            var message = Array(try #require(SSEFrame.encode(line: trimmed)).readableBytesView)
            if let eventName, let kind = SSEFrame.kindAndSeq(of: trimmed)?.kind {
                message.replaceSubrange(0..<("event: " + kind).utf8.count, with: Array(("event: " + eventName).utf8))
            }
            return message
        }
    }

    static func stream(_ lines: [ByteBuffer]) -> [UInt8] {
        lines.flatMap { Array($0.readableBytesView) }
    }

    /// Frames `parts` in order; the bytes that go out.
    static func frame(_ parts: [ArraySlice<UInt8>], framer: inout SSEFramer) throws -> [UInt8] {
        var out: [UInt8] = []
        for part in parts {
            var output = SSEOutput()
            try framer.append(ByteBuffer(bytes: part), into: &output)
            for buffer in output.take() { out += buffer.readableBytesView }
        }
        return out
    }

    @Test func everySplitPointGivesTheSameMessages() throws {
        let lines = Self.lines()
        let bytes = Self.stream(lines)
        let expected = try Self.expected(lines)
        for cut in stride(from: 1, to: bytes.count, by: 97) {
            var framer = SSEFramer()
            #expect(try Self.frame([bytes[..<cut], bytes[cut...]], framer: &framer) == expected, "cut at \(cut)")
            #expect(!framer.isMidLine && framer.skipped == 0)
        }
        // Cuts inside the first bytes of every line, where the header is read.
        for cut in 1..<80 {
            var framer = SSEFramer()
            #expect(try Self.frame([bytes[..<cut], bytes[cut...]], framer: &framer) == expected, "cut at \(cut)")
        }
    }

    @Test func byteAtATime() throws {
        let lines = Self.lines()
        let bytes = Self.stream(Array(lines.prefix(4)))
        var framer = SSEFramer()
        #expect(try Self.frame(bytes.indices.map { bytes[$0...$0] }, framer: &framer) == (try Self.expected(Array(lines.prefix(4)))))
    }

    @Test func eventNameReplacesTheKind() throws {
        let lines = Self.lines()
        var framer = SSEFramer(eventName: "fs")
        #expect(try Self.frame([Self.stream(lines)[...]], framer: &framer) == (try Self.expected(lines, eventName: "fs")))
    }

    /// The bulk of a long line goes out as slices of the chunks it came in, not copied.
    @Test func longLinesAreNotCopied() throws {
        let line = EventWriter.line(ExecEvent(seq: 9, .stdout(Array(repeating: 0x43, count: 60_000))))
        var chunk = ByteBuffer()
        chunk.writeImmutableBuffer(line)
        var framer = SSEFramer()
        var output = SSEOutput()
        try framer.append(chunk, into: &output)
        let buffers = output.take()
        let sharesStorage = buffers.contains { buffer in
            buffer.readableBytes > 50_000
                && buffer.withUnsafeReadableBytes { out in chunk.withUnsafeReadableBytes { $0.baseAddress! <= out.baseAddress! && out.baseAddress! < $0.baseAddress! + $0.count } }
        }
        #expect(sharesStorage, "the line was copied")
    }

    @Test func linesThatAreNotEventsAreSkippedAndCutLinesNoticed() throws {
        var framer = SSEFramer()
        var output = SSEOutput()
        try framer.append(ByteBuffer(string: "not an event\n{\"seq\":1,\"t\":\"std"), into: &output)
        #expect(output.take().isEmpty)
        #expect(framer.skipped == 1)
        #expect(framer.isMidLine)
    }

    /// A line that never ends is cut at the cap, canonical or not, in one chunk or many.
    @Test func endlessLinesAreCutAtTheCap() throws {
        let cap = 10_000
        for start in [#"{"seq":1,"t":"stdout","b64":""#, "garbage without a header "] {
            var framer = SSEFramer(lineCap: cap)
            var output = SSEOutput()
            var fed = 0
            #expect(throws: SSEFramer.LineTooLong.self) {
                try framer.append(ByteBuffer(string: start), into: &output)
                while true {
                    try framer.append(ByteBuffer(repeating: UInt8(ascii: "A"), count: 1000), into: &output)
                    fed += 1000
                    _ = output.take()
                }
            }
            #expect(fed <= cap)
        }
        // The largest legal event passes the default cap.
        var framer = SSEFramer()
        var output = SSEOutput()
        let largest = EventWriter.line(ExecEvent(seq: UInt64.max, .stdout(Array(repeating: 0xFF, count: 64 << 10))))
        #expect(largest.readableBytes <= Limits.largestEventLineBytes)
        try framer.append(largest, into: &output)
        #expect(!output.isEmpty)
    }

    @Test func clientLineParsersCutEndlessLines() throws {
        let cap = 10_000
        var splitter = NDJSONLineSplitter(lineCap: cap)
        var fed = 0
        #expect(throws: RunnerdClientError.lineTooLong(cap)) {
            while true {
                _ = try splitter.append(ByteBuffer(repeating: UInt8(ascii: "A"), count: 999))
                fed += 999
            }
        }
        #expect(fed <= cap)
        // A whole line past the cap inside one chunk.
        var whole = NDJSONLineSplitter(lineCap: cap)
        #expect(throws: RunnerdClientError.lineTooLong(cap)) { _ = try whole.append(ByteBuffer(string: String(repeating: "B", count: cap + 1) + "\n")) }

        var parser = SSEParser(lineCap: cap)
        fed = 0
        #expect(throws: SpawnerClientError.lineTooLong(cap)) {
            _ = try parser.append(Array("data: ".utf8))
            while true {
                _ = try parser.append(Array(repeating: UInt8(ascii: "A"), count: 999))
                fed += 999
            }
        }
        #expect(fed <= cap)
        // Many data lines of one message add up to the cap too.
        var joined = SSEParser(lineCap: cap)
        #expect(throws: SpawnerClientError.lineTooLong(cap)) {
            while true { _ = try joined.append(Array(("data: " + String(repeating: "C", count: 500) + "\n").utf8)) }
        }
    }
}
