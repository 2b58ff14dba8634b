import Foundation
import NIOCore
@testable import RunnerProtocol
import Testing

/// The canonical fast paths of `EventReader` agree with `JSONDecoder` on every line: the same
/// event for canonical lines, the same event or the same failure for everything else.
@Suite(.timeLimit(.minutes(2))) struct EventReaderTests {
    static func viaDecoder(_ text: String) -> ExecEvent? {
        try? WireJSON.decode(ExecEvent.self, from: Array(text.utf8))
    }

    static func viaReader(_ text: String) -> ExecEvent? {
        try? EventReader.decode(Array(text.utf8))
    }

    static let events = EventWriterTests.events + [
        ExecEvent(seq: 20, .stderr(Array("err\n".utf8))),
        ExecEvent(seq: 21, .exit(.init(exitCode: 137, durationMs: 1, truncated: .init(stdout: true, stderr: true),
                                       timedOut: true, cancelled: true, signal: "SIGKILL", lost: false))),
    ]

    @Test(arguments: Self.events)
    func canonicalLinesDecodeLikeTheDecoder(_ event: ExecEvent) throws {
        var line = EventWriter.line(event)
        line.moveWriterIndex(to: line.writerIndex - 1)  // without the newline
        #expect(try EventReader.decode(line) == event)
        #expect(try EventReader.decode(line) == WireJSON.decode(ExecEvent.self, from: line.readableBytesView))
        // Output, start and exit lines as runnerd writes them take the fast path; the rest
        // (fail, gap) and strings that need escapes go to the decoder.
        let fast = line.withUnsafeReadableBytes(EventReader.decodeCanonical)
        switch event.body {
        case .stdout, .stderr, .start, .exit:
            #expect(fast == event, "the fast path decoded \(line.readableBytes) bytes")
        case .fail, .gap:
            #expect(fast == nil)
        }
    }

    @Test(arguments: [
        // Canonical.
        #"{"seq":1,"t":"start","execId":"a-b_c.1","startedAtMs":1700000000123,"pid":42}"#,
        #"{"seq":2,"t":"exit","exitCode":0,"durationMs":3,"truncated":{"stdout":false,"stderr":true},"timedOut":false,"cancelled":false}"#,
        #"{"seq":3,"t":"exit","exitCode":137,"durationMs":3,"truncated":{"stdout":false,"stderr":false},"timedOut":true,"cancelled":false,"signal":"SIGKILL"}"#,
        #"{"seq":4,"t":"exit","exitCode":-1,"durationMs":0,"truncated":{"stdout":false,"stderr":false},"timedOut":false,"cancelled":false,"lost":true}"#,
        #"{"seq":5,"t":"start","execId":"x","startedAtMs":-5,"pid":2147483647}"#,
        #"{"seq":0,"t":"start","execId":"","startedAtMs":0,"pid":0}"#,
        // Not canonical: the decoder decides.
        #"{"t":"start","seq":1,"execId":"x","startedAtMs":1,"pid":2}"#,
        #"{"seq":1, "t":"start","execId":"x","startedAtMs":1,"pid":2}"#,
        #"{"seq":1,"t":"start","execId":"x\u0041","startedAtMs":1,"pid":2}"#,
        #"{"seq":1,"t":"start","execId":"x\"y","startedAtMs":1,"pid":2}"#,
        #"{"seq":1,"t":"start","execId":"日本","startedAtMs":1,"pid":2}"#,
        #"{"seq":01,"t":"start","execId":"x","startedAtMs":1,"pid":2}"#,
        #"{"seq":1,"t":"start","execId":"x","startedAtMs":-0,"pid":2}"#,
        #"{"seq":1,"t":"start","execId":"x","startedAtMs":1e3,"pid":2}"#,
        #"{"seq":1,"t":"start","execId":"x","startedAtMs":1.0,"pid":2}"#,
        #"{"seq":1,"t":"start","execId":"x","startedAtMs":1,"pid":2147483648}"#,
        #"{"seq":1,"t":"start","execId":"x","startedAtMs":9223372036854775808,"pid":2}"#,
        #"{"seq":1,"t":"start","execId":"x","startedAtMs":-9223372036854775808,"pid":2}"#,
        #"{"seq":18446744073709551616,"t":"start","execId":"x","startedAtMs":1,"pid":2}"#,
        #"{"seq":1,"t":"start","execId":"x","startedAtMs":1,"pid":2} "#,
        #"{"seq":1,"t":"start","execId":"x","startedAtMs":1,"pid":2,"extra":1}"#,
        #"{"seq":1,"t":"start","execId":"x","startedAtMs":1}"#,
        #"{"seq":1,"t":"exit","exitCode":0,"durationMs":3,"truncated":{"stdout":false,"stderr":false},"timedOut":false,"cancelled":false,"lost":true,"signal":"SIGKILL"}"#,
        #"{"seq":1,"t":"exit","exitCode":0,"durationMs":3,"truncated":{"stdout":0,"stderr":false},"timedOut":false,"cancelled":false}"#,
        #"{"seq":1,"t":"exit","exitCode":0,"durationMs":3,"truncated":{"stdout":false,"stderr":false},"timedOut":false,"cancelled":false,"signal":null}"#,
        #"{"seq":1,"t":"stdout","b64":"aGk="}"#,
        #"{"seq":1,"t":"stdout","b64":"aGk"}"#,
        #"{"seq":1,"t":"stdout","b64":"a\"Gk="}"#,
        #"{"seq":1,"t":"stdout","b64":"a*k="}"#,
        #"{"seq":1,"t":"stdout","b64":"aGk=" }"#,
        #"{"seq":1,"t":"gap","fromSeq":1,"toSeq":3}"#,
        #"{"seq":1,"t":"fail","code":"SPAWN_FAILED","message":"no"}"#,
        #"{"seq":1,"t":"mystery"}"#,
        #"{"seq":1,"t":"start""#,
        "",
    ])
    func everyLineDecodesLikeTheDecoder(_ text: String) {
        #expect(Self.viaReader(text) == Self.viaDecoder(text), "\(text)")
    }

    @Test func invalidUTF8InAnIdIsLeftToTheDecoder() {
        var bytes = Array(#"{"seq":1,"t":"start","execId":"x"#.utf8)
        bytes += [0xFF, 0xFE]
        bytes += Array(#"","startedAtMs":1,"pid":2}"#.utf8)
        let direct = try? EventReader.decode(bytes)
        let decoded = try? WireJSON.decode(ExecEvent.self, from: bytes)
        #expect(direct == decoded)
    }
}
