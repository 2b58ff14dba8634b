import Foundation
import NIOCore
import RunnerProtocol
import TestSupport
import Testing

@Suite(.timeLimit(.minutes(2))) struct EventWriterTests {
    static let nastyMessage = "say \"hi\"\nline2\r\ttab \\ back/slash \u{0}\u{1}\u{8}\u{C}\u{1B}\u{1F}\u{7F} é 日本語 🎉 \u{2028}end"

    static let events: [ExecEvent] = [
        ExecEvent(seq: 1, .start(.init(execId: "exec_1-A", startedAtMs: 1_700_000_000_123, pid: 4242))),
        ExecEvent(seq: 2, .stdout(Array("hello\n".utf8))),
        ExecEvent(seq: 3, .stderr([0, 1, 2, 0xFF, 0xFE, 0x0A, 0x22, 0x5C])),
        ExecEvent(seq: 4, .stdout([])),
        ExecEvent(seq: 5, .exit(.init(exitCode: 0, durationMs: 12, truncated: .init(stdout: false, stderr: false),
                                      timedOut: false, cancelled: false))),
        ExecEvent(seq: 6, .exit(.init(exitCode: 137, durationMs: 5001, truncated: .init(stdout: true, stderr: false),
                                      timedOut: true, cancelled: false, signal: "SIGKILL"))),
        ExecEvent(seq: 7, .exit(.init(exitCode: 143, durationMs: 3, truncated: .init(stdout: false, stderr: true),
                                      timedOut: false, cancelled: true, signal: "SIGTERM"))),
        ExecEvent(seq: 8, .exit(.init(exitCode: -1, durationMs: 0, truncated: .init(stdout: false, stderr: false),
                                      timedOut: false, cancelled: false, lost: true))),
        ExecEvent(seq: 9, .fail(.init(code: .spawnFailed, message: nastyMessage))),
        ExecEvent(seq: 10, .fail(.init(code: .badRequest, message: ""))),
        ExecEvent(seq: 11, .fail(.init(code: ExecFailCode(rawValue: "SOMETHING_NEW"), message: "x"))),
        ExecEvent(seq: 12, .gap(.init(fromSeq: 3, toSeq: 12))),
        ExecEvent(seq: UInt64.max, .gap(.init(fromSeq: 1, toSeq: UInt64.max))),
        ExecEvent(seq: 1, .start(.init(execId: "x", startedAtMs: -5, pid: Int32.max))),
    ]

    static func text(_ buffer: ByteBuffer) -> String { String(buffer: buffer) }

    static func jsonObject(_ bytes: [UInt8]) throws -> NSDictionary {
        let object = try JSONSerialization.jsonObject(with: Data(bytes))
        return try #require(object as? NSDictionary)
    }

    @Test(arguments: events)
    func lineDecodesBackToTheSameEvent(_ event: ExecEvent) throws {
        let line = EventWriter.line(event)
        let decoded = try WireJSON.decode(ExecEvent.self, from: line.readableBytesView)
        #expect(decoded == event)
    }

    @Test(arguments: events)
    func lineEndsInExactlyOneNewlineAndIsValidJSON(_ event: ExecEvent) throws {
        let bytes = Array(EventWriter.line(event).readableBytesView)
        #expect(bytes.last == UInt8(ascii: "\n"))
        #expect(bytes.filter { $0 == UInt8(ascii: "\n") }.count == 1)
        let object = try Self.jsonObject(Array(bytes.dropLast()))
        #expect(object["t"] as? String == event.kind.rawValue)
        #expect((object["seq"] as? NSNumber)?.uint64Value == event.seq)
        // No raw control character survives inside the line.
        #expect(!bytes.dropLast().contains { $0 < 0x20 })
    }

    @Test(arguments: events)
    func lineHasTheSameFieldsAsTheCodableEncoding(_ event: ExecEvent) throws {
        let written = try Self.jsonObject(Array(EventWriter.line(event).readableBytesView))
        let encoded = try Self.jsonObject(try WireJSON.encode(event))
        #expect(written == encoded)
    }

    @Test func lineStartsWithSeqThenT() {
        let line = Self.text(EventWriter.line(ExecEvent(seq: 7, .gap(.init(fromSeq: 2, toSeq: 7)))))
        #expect(line == #"{"seq":7,"t":"gap","fromSeq":2,"toSeq":7}"# + "\n")
    }

    @Test func exitLineFieldsMatchTheContract() throws {
        let event = ExecEvent(seq: 3, .exit(.init(exitCode: 137, durationMs: 10, truncated: .init(stdout: true, stderr: false),
                                                  timedOut: false, cancelled: true, signal: "SIGKILL")))
        let object = try Self.jsonObject(Array(EventWriter.line(event).readableBytesView))
        #expect(Set(object.allKeys.compactMap { $0 as? String })
            == ["seq", "t", "exitCode", "durationMs", "truncated", "timedOut", "cancelled", "signal"])
        #expect(object["exitCode"] as? Int == 137)
        #expect(object["signal"] as? String == "SIGKILL")
        let truncated = try #require(object["truncated"] as? NSDictionary)
        #expect(truncated["stdout"] as? Bool == true)
        #expect(truncated["stderr"] as? Bool == false)
        #expect(object["lost"] == nil)
    }

    @Test func plainExitOmitsSignalAndLost() throws {
        let event = ExecEvent(seq: 2, .exit(.init(exitCode: 1, durationMs: 1, truncated: .init(stdout: false, stderr: false),
                                                  timedOut: false, cancelled: false)))
        let object = try Self.jsonObject(Array(EventWriter.line(event).readableBytesView))
        #expect(object["signal"] == nil)
        #expect(object["lost"] == nil)
    }

    @Test func failMessageWithControlCharactersRoundTripsExactly() throws {
        let event = ExecEvent(seq: 1, .fail(.init(code: .invalidCwd, message: Self.nastyMessage)))
        let line = Self.text(EventWriter.line(event))
        #expect(line.contains(#"\"hi\""#))
        #expect(line.contains(#"\n"#))
        #expect(line.contains(#"\u0000"#))
        #expect(line.contains(#"\u001b"#))
        let object = try Self.jsonObject(Array(line.utf8))
        #expect(object["message"] as? String == Self.nastyMessage)
        #expect(object["code"] as? String == "INVALID_CWD")
    }

    @Test func startLineFields() throws {
        let event = ExecEvent(seq: 1, .start(.init(execId: "e1", startedAtMs: 1_700_000_000_000, pid: 77)))
        let object = try Self.jsonObject(Array(EventWriter.line(event).readableBytesView))
        #expect(Set(object.allKeys.compactMap { $0 as? String }) == ["seq", "t", "execId", "startedAtMs", "pid"])
        #expect(object["execId"] as? String == "e1")
        #expect((object["startedAtMs"] as? NSNumber)?.int64Value == 1_700_000_000_000)
        #expect(object["pid"] as? Int == 77)
    }

    @Test func writeOutputAppendsLinesThatDecode() throws {
        var buffer = ByteBufferAllocator().buffer(capacity: 0)
        let first: [UInt8] = Array("out".utf8)
        let second: [UInt8] = [0, 0xFF, 10]
        first.withUnsafeBytes { EventWriter.writeOutput(seq: 1, stderr: false, bytes: $0, into: &buffer) }
        second.withUnsafeBytes { EventWriter.writeOutput(seq: 2, stderr: true, bytes: $0, into: &buffer) }
        let lines = Self.text(buffer).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 3)
        #expect(lines.last == "")
        #expect(lines[0] == #"{"seq":1,"t":"stdout","b64":"b3V0"}"#)
        #expect(try WireJSON.decode(ExecEvent.self, from: Array(lines[0].utf8)) == ExecEvent(seq: 1, .stdout(first)))
        #expect(try WireJSON.decode(ExecEvent.self, from: Array(lines[1].utf8)) == ExecEvent(seq: 2, .stderr(second)))
    }

    @Test func outputLineCapacityCoversRealisticLines() {
        var rng = SplitMix64(seed: 7)
        for count in [0, 1, 2, 3, 100, 65536] {
            let bytes = randomBytes(count, &rng)
            for seq: UInt64 in [1, 999_999, 10_000_000_000_000_000 - 1] {
                let line = EventWriter.line(ExecEvent(seq: seq, .stderr(bytes)))
                #expect(line.readableBytes <= EventWriter.outputLineCapacity(count), "count \(count) seq \(seq)")
            }
        }
    }

    @Test func decodingRejectsBadBase64AndUnknownKind() {
        #expect(throws: (any Error).self) {
            try WireJSON.decode(ExecEvent.self, from: Array(#"{"seq":1,"t":"stdout","b64":"@@@"}"#.utf8))
        }
        #expect(throws: (any Error).self) {
            try WireJSON.decode(ExecEvent.self, from: Array(#"{"seq":1,"t":"nope"}"#.utf8))
        }
        #expect(throws: (any Error).self) {
            try WireJSON.decode(ExecEvent.self, from: Array(#"{"t":"gap","fromSeq":1,"toSeq":2}"#.utf8))
        }
    }

    @Test func terminalKinds() {
        #expect(Self.events.filter(\.isTerminal).map(\.kind).allSatisfy { $0 == .exit || $0 == .fail })
        #expect(!ExecEvent(seq: 1, .gap(.init(fromSeq: 1, toSeq: 1))).isTerminal)
        #expect(ExecEvent(seq: 1, .fail(.init(code: .execLimit, message: ""))).isTerminal)
    }
}
