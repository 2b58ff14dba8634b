import Foundation
import RunnerProtocol
import RunnerdClient
import Testing
import TestSupport

/// Contract §3 "Bounds" against the real binary: every number a client sends is checked where it
/// is decoded; out of range is a 400 with a message, never a crash.
@Suite("input bounds", .timeLimit(.minutes(5)))
struct InputBoundsTests {
    /// `GET /execs/ID/attach?sinceSeq=18446744073709551615` used to kill runnerd (an overflow
    /// trap in the replay ring). Any non-negative integer is valid: past the last seq, a
    /// finished exec replays nothing and a live one streams only what comes next.
    @Test func attachPastTheLastSeqYieldsOnlyLiveEvents() async throws {
        let runnerd = try await RunnerdProcess.start()
        let client = runnerd.client
        let done = try await client.run("done", ["echo", "finished"])
        #expect(done.exit?.exitCode == 0)
        for since in ["18446744073709551615", "18446744073709551614", "18446744073709551616", String(repeating: "9", count: 40), "4", "3"] {
            let (status, body) = try await client.call(.GET, "/execs/done/attach?sinceSeq=\(since)")
            #expect(status == 200, "sinceSeq=\(since)")
            #expect(body.isEmpty, "sinceSeq=\(since) is past the last seq (3): nothing to replay, got \(String(decoding: body, as: UTF8.self))")
        }
        #expect(kill(runnerd.pid, 0) == 0, "runnerd is alive; log:\n\(runnerd.log.suffix(2000))")

        // A live exec: the attach sees the events that come after it, and nothing before.
        let live = Task {
            try await client.runShell("live", "echo before; read line; echo \"after $line\"") { $0.stdinMode = .hold }
        }
        #expect(try await eventually { try await client.status("live").lastSeq ?? 0 >= 2 }, "the exec printed its first line")
        // The answer's head goes out once the attach is subscribed: only then the exec goes on.
        let stream = try await client.attach("live", sinceSeq: .max)
        #expect(try await client.stdin("live", StdinRequest(b64: Base64.encode(Array("{}\n".utf8)))).ok)
        let whole = try await live.value
        #expect(whole.stdoutText == "before\nafter {}\n")
        var events: [ExecEvent] = []
        for try await event in stream { events.append(event) }
        let tail = ExecResult(events: events)
        #expect(tail.stdoutText == "after {}\n", "only live events after the attach")
        #expect(tail.exit?.exitCode == 0)
        #expect(tail.events.first.map { $0.seq > 2 } == true)
        await runnerd.stop()
    }

    @Test func sinceSeqThatIsNotANonNegativeIntegerIs400() async throws {
        let runnerd = try await RunnerdProcess.start()
        _ = try await runnerd.client.run("x", ["true"])
        for since in ["-1", "abc", "1.5", "1e3", "", "%2B1", "0x10", "%20"] {
            let (status, body) = try await runnerd.client.call(.GET, "/execs/x/attach?sinceSeq=\(since)")
            #expect(status == 400, "sinceSeq=\(since)")
            #expect(try WireJSON.decode(ErrorBody.self, from: body).message?.contains("sinceSeq") == true)
        }
        #expect(try await runnerd.client.ready())
        await runnerd.stop()
    }

    /// `timeoutMs` and `killGraceMs` meet the clock (`TimeAmount.milliseconds` traps past
    /// ~292 years): out of range is a 400 naming the field, and runnerd goes on.
    @Test func execNumbersOutOfRangeAre400() async throws {
        let runnerd = try await RunnerdProcess.start()
        let cases = [
            ("timeoutMs", "9223372036854775807"), ("timeoutMs", "2592000001"), ("timeoutMs", "-1"), ("timeoutMs", "1e308"),
            ("timeoutMs", "18446744073709551615"), ("timeoutMs", "0.5"), ("stdoutMaxBytes", "-1"), ("stderrMaxBytes", "1e308"),
            ("killGraceMs", "9223372036854775807"), ("killGraceMs", "600001"), ("killGraceMs", "-9223372036854775808"),
        ]
        for (field, value) in cases {
            var fields = ["timeoutMs": "1000", "stdoutMaxBytes": "0", "stderrMaxBytes": "0"]
            fields[field] = value
            let json = #"{"execId":"big","command":["sleep","0.2"],"# + fields.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",") + "}"
            let (status, body) = try await runnerd.client.call(.POST, "/execs", body: Array(json.utf8))
            #expect(status == 400, "\(field)=\(value): \(String(decoding: body, as: UTF8.self))")
            let error = try WireJSON.decode(ErrorBody.self, from: body)
            #expect(error.error == "bad_request")
            #expect(error.message?.hasPrefix("\(field) must be an integer in") == true, "\(error.message ?? "")")
            #expect(kill(runnerd.pid, 0) == 0, "runnerd died on \(field)=\(value); log:\n\(runnerd.log.suffix(2000))")
        }
        // Nothing was started; the daemon works.
        #expect(try await runnerd.client.status("big").state == .gone)
        #expect(try await runnerd.client.run("after", ["echo", "ok"]).stdoutText == "ok\n")
        await runnerd.stop()
    }

    @Test func theLargestValuesInRangeWork() async throws {
        let runnerd = try await RunnerdProcess.start()
        let result = try await runnerd.client.run("max", ["echo", "max"]) {
            $0.timeoutMs = Bounds.timeoutMs.upperBound
            $0.killGraceMs = Bounds.killGraceMs.upperBound
            $0.stdoutMaxBytes = .max
            $0.stderrMaxBytes = .max
        }
        #expect(result.stdoutText == "max\n")
        #expect(result.exit?.exitCode == 0)
        // A sliding deadline of 30 days re-armed by an attach.
        let attached = try await runnerd.client.attachAll("max")
        #expect(attached.exit?.exitCode == 0)
        await runnerd.stop()
    }
}
