import NIOCore
import RunnerProtocol
import SpawnerClient
@testable import SpawnerCore
import Testing

/// SSE framing of event lines, and the client-side parser.
@Suite(.timeLimit(.minutes(1))) struct SSEFrameTests {
    @Test func canonicalLinesAreScannedWithoutDecoding() throws {
        let line = EventWriter.line(ExecEvent(seq: 42, .stdout(Array("hi\n".utf8))))
        var trimmed = line
        trimmed.moveWriterIndex(to: trimmed.writerIndex - 1)  // without the newline
        let header = try #require(SSEFrame.kindAndSeq(of: trimmed))
        #expect(header.kind == "stdout" && header.seq == 42)
        let frame = try #require(SSEFrame.encode(line: trimmed))
        #expect(String(buffer: frame) == "event: stdout\nid: 42\ndata: \(String(buffer: trimmed))\n\n")
    }

    @Test func otherShapesAreDecoded() throws {
        let reordered = ByteBuffer(string: #"{"t":"exit","exitCode":0,"seq":7}"#)
        let header = try #require(SSEFrame.kindAndSeq(of: reordered))
        #expect(header.kind == "exit" && header.seq == 7)
        #expect(SSEFrame.kindAndSeq(of: ByteBuffer(string: #"{"seq":"x"}"#)) == nil)
        #expect(SSEFrame.kindAndSeq(of: ByteBuffer(string: "not json")) == nil)
        // A seq too long for the scan still works through the decoder.
        let huge = ByteBuffer(string: #"{"seq":18446744073709551615,"t":"gap","fromSeq":1,"toSeq":2}"#)
        #expect(SSEFrame.kindAndSeq(of: huge)?.seq == UInt64.max)
    }

    @Test func parserHandlesSplitsCRLFMultilineDataAndComments() throws {
        var parser = SSEParser()
        let text = ": comment\r\nevent: start\r\nid: 1\r\ndata: {\"a\":1}\r\n\r\nevent: stdout\nid: 2\ndata: line one\ndata: line two\n\n"
        var messages: [SSEMessage] = []
        // Byte by byte: every split point is exercised.
        for byte in Array(text.utf8) { messages += try parser.append([byte]) }
        #expect(messages == [
            SSEMessage(event: "start", id: "1", data: Array(#"{"a":1}"#.utf8)),
            SSEMessage(event: "stdout", id: "2", data: Array("line one\nline two".utf8)),
        ])
        #expect(!parser.hasPartialMessage)
        _ = try parser.append(Array("event: exit\ndata: x".utf8))
        #expect(parser.hasPartialMessage)
    }

    @Test func parserReadsTheServersFrames() throws {
        var parser = SSEParser()
        var all: [SSEMessage] = []
        for seq in UInt64(1)...3 {
            var line = EventWriter.line(ExecEvent(seq: seq, .stderr([UInt8(seq)])))
            line.moveWriterIndex(to: line.writerIndex - 1)
            all += try parser.append(try #require(SSEFrame.encode(line: line)))
        }
        #expect(all.map(\.id) == ["1", "2", "3"])
        #expect(try all.map { try EventReader.decode($0.data) } == (UInt64(1)...3).map { ExecEvent(seq: $0, .stderr([UInt8($0)])) })
    }
}
