import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import RunnerProtocol
import SpawnerClient
import Testing
import TestSupport

/// The SSE exec proxy: framing, resume after a drop, the proxied exec calls, backpressure.
@Suite(.timeLimit(.minutes(10))) struct ExecStreamTests {
    /// The SSE messages of a whole response.
    static func messages(_ response: HTTPClientResponse) async throws -> [SSEMessage] {
        var messages: [SSEMessage] = []
        for try await message in SSEMessageSequence(response.body) { messages.append(message) }
        return messages
    }

    /// `spawner_proxy_bytes_total{direction="to_client"}`.
    static func proxiedToClient(_ metrics: String) throws -> Int {
        let line = try #require(metrics.split(separator: "\n").first { $0.hasPrefix(#"spawner_proxy_bytes_total{direction="to_client"}"#) })
        return Int(Double(line.split(separator: " ").last ?? "") ?? -1)
    }

    static func execBody(_ request: ExecRequest) throws -> [UInt8] { try WireJSON.encode(request) }

    @Test func eventsAreSSEMessagesWithRunnerdLinesAsData() async throws {
        try await withSpawner { (spawner: SpawnerProcess) async throws in
            let client = spawner.client
            _ = try await client.create("sse")
            let request = ExecRequest(execId: "frames", shell: "printf 'out\\n'; printf 'err\\n' >&2; exit 4", timeoutMs: 30_000)
            let response = try await client.send(.POST, "/v1/sessions/sse/exec", body: try Self.execBody(request))
            #expect(response.status == .ok)
            #expect(response.headers.first(name: "content-type") == "text/event-stream")
            let messages = try await Self.messages(response)
            #expect(messages.count >= 4)
            for (index, message) in messages.enumerated() {
                let event = try EventReader.decode(message.data)
                #expect(message.event == event.kind.rawValue)
                #expect(message.id == String(event.seq))
                #expect(event.seq == UInt64(index + 1))
                // `data` is runnerd's line, byte for byte (runnerd writes canonical lines).
                #expect(message.data == Array(EventWriter.line(event).readableBytesView.dropLast()))
            }
            #expect(messages.first?.event == "start")
            #expect(messages.last?.event == "exit")
            let events = try messages.map { try EventReader.decode($0.data) }
            #expect(events.stdoutText == "out\n")
            #expect(events.stderr == Array("err\n".utf8))
            #expect(events.exit?.exitCode == 4)
        }
    }

    @Test func resumeAfterDropIsByteIdentical() async throws {
        try await withSpawner { (spawner: SpawnerProcess) async throws in
            let client = spawner.client
            _ = try await client.create("resume")
            let script = "for i in $(seq 1 300); do echo \"line $i of the resumable stream\"; if [ $((i % 10)) = 0 ]; then sleep 0.02; fi; done"
            let expected = (1...300).map { "line \($0) of the resumable stream\n" }.joined()

            // Read part of the stream, then hang up.
            var firstPart: [ExecEvent] = []
            let response = try await client.send(
                .POST, "/v1/sessions/resume/exec", body: try Self.execBody(ExecRequest(execId: "r1", shell: script, timeoutMs: 60_000)),
                timeout: .seconds(120))
            #expect(response.status == .ok)
            for try await message in SSEMessageSequence(response.body) {
                firstPart.append(try EventReader.decode(message.data))
                if firstPart.count == 8 { break }
            }
            #expect(firstPart.count == 8)
            let lastId = try #require(firstPart.last?.seq)

            // Reconnect with Last-Event-ID: the rest, from the next seq, nothing twice.
            var rest: [ExecEvent] = []
            for try await event in try await client.attach("resume", "r1", lastEventId: lastId) { rest.append(event) }
            #expect(rest.first?.seq == lastId + 1)
            let all = firstPart + rest
            #expect(all.map(\.seq) == Array(1...UInt64(all.count)))
            #expect(all.stdoutText == expected)
            #expect(all.exit?.exitCode == 0)

            // The whole log again from the start, and from ?sinceSeq=, byte for byte.
            var replay: [ExecEvent] = []
            for try await event in try await client.attach("resume", "r1") { replay.append(event) }
            #expect(replay.stdout == all.stdout)
            let sinceResponse = try await client.send(.GET, "/v1/sessions/resume/execs/r1/attach?sinceSeq=\(lastId)")
            let since = try await Self.messages(sinceResponse).map { try EventReader.decode($0.data) }
            #expect(since.stdout == rest.stdout)
        }
    }

    @Test func followReconnectsByItself() async throws {
        try await withSpawner { (spawner: SpawnerProcess) async throws in
            let client = spawner.client
            _ = try await client.create("follow")
            // Start, drop after the first event, then let `follow` pick it up from there.
            let response = try await client.send(
                .POST, "/v1/sessions/follow/exec",
                body: try Self.execBody(ExecRequest(execId: "f1", shell: "sleep 0.3; seq 1 2000", timeoutMs: 60_000)))
            var seen: UInt64 = 0
            for try await message in SSEMessageSequence(response.body) {
                seen = try EventReader.decode(message.data).seq
                break
            }
            var events: [ExecEvent] = []
            let end = try await client.follow("follow", execId: "f1", after: seen) { events.append($0) }
            #expect(events.first?.seq == seen + 1)
            #expect(events.stdoutText == (1...2000).map { "\($0)\n" }.joined())
            if case .exit(let exit) = end.body { #expect(exit.exitCode == 0) } else { Issue.record("ended with \(end)") }
        }
    }

    @Test func stdinStatusAndCancelAreProxied() async throws {
        try await withSpawner { (spawner: SpawnerProcess) async throws in
            let client = spawner.client
            _ = try await client.create("proxy")
            // A held-stdin cat: write a line, then EOF.
            let request = ExecRequest(execId: "cat", command: ["cat"], timeoutMs: 60_000, stdinMode: .hold)
            async let events = client.run("proxy", request)
            #expect(try await eventually { try await client.execStatus("proxy", "cat").state == .running })
            let line = Array("{\"n\":1}\n".utf8)
            #expect(try await client.stdin("proxy", "cat", StdinRequest(b64: Base64.encode(line))).ok)
            #expect(try await client.stdin("proxy", "cat", StdinRequest(eof: true)).ok)
            let finished = try await events
            #expect(finished.stdout == line)
            #expect(try await client.execStatus("proxy", "cat").state == .exited)
            #expect(try await client.execStatus("proxy", "never").state == .gone)

            // Cancel a running one.
            async let slept = client.run("proxy", ExecRequest(execId: "sleeper", command: ["sleep", "60"], timeoutMs: 120_000))
            #expect(try await eventually { try await client.execStatus("proxy", "sleeper").state == .running })
            #expect(try await client.cancel("proxy", "sleeper").killed)
            let exit = try await slept
            #expect(exit.exit?.cancelled == true)
        }
    }

    @Test func runnerdErrorsAreRelayed() async throws {
        try await withSpawner { (spawner: SpawnerProcess) async throws in
            let client = spawner.client
            _ = try await client.create("relay")
            // Unknown exec: runnerd's 404 comes through.
            #expect(try await client.status(.GET, "/v1/sessions/relay/execs/ghost/attach").0 == 404)
            #expect(try await client.status(.POST, "/v1/sessions/relay/execs/ghost/cancel").0 == 404)
            // Not JSON: runnerd's 400 comes through; JSON of the wrong shape is a `fail` event.
            #expect(try await client.status(.POST, "/v1/sessions/relay/exec", body: Array("{not json".utf8)).0 == 400)
            let badShape = try await client.send(.POST, "/v1/sessions/relay/exec", body: Array(#"{"execId":"x"}"#.utf8))
            let messages = try await Self.messages(badShape)
            #expect(messages.last?.event == "fail")
            // Bad Last-Event-ID.
            #expect(try await client.status(.GET, "/v1/sessions/relay/execs/x/attach?sinceSeq=-1").0 == 400)
        }
    }

    @Test func slowClientDoesNotMakeTheSpawnerBuffer() async throws {
        try await withSpawner { (spawner: SpawnerProcess) async throws in
            let client = spawner.client
            _ = try await client.create("flood")
            let rssBefore = try #require(ProcessScan.rssKB(spawner.pid))
            // 400 MB of output toward a client that reads nothing for a while.
            let request = ExecRequest(execId: "zeros", command: ["head", "-c", "400000000", "/dev/zero"], timeoutMs: 120_000)
            let response = try await client.send(.POST, "/v1/sessions/flood/exec", body: try Self.execBody(request), timeout: .seconds(300))
            #expect(response.status == .ok)
            var peak = rssBefore
            for _ in 0..<30 {
                try await Task.sleep(for: .milliseconds(100))
                peak = max(peak, ProcessScan.rssKB(spawner.pid) ?? 0)
            }
            // Bounded by socket and channel buffers, not by the 530 MB of encoded output: the
            // spawner stopped reading from runnerd when the client stopped reading.
            #expect(peak - rssBefore < 96 * 1024, "spawner RSS grew by \(peak - rssBefore) KiB")
            let forwarded = try Self.proxiedToClient(try await spawner.openGET("/metrics").body)
            #expect(forwarded < 64 << 20, "the spawner wrote \(forwarded) bytes toward a client that read nothing")
            // The stream still delivers once the client reads.
            var received = 0
            for try await message in SSEMessageSequence(response.body) {
                if case .stdout(let bytes) = try EventReader.decode(message.data).body { received += bytes.count }
                if received > 1 << 20 { break }
            }
            #expect(received > 1 << 20)
            _ = try await client.cancel("flood", "zeros")
        }
    }
}
