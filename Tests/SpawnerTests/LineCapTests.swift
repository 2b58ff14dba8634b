import AsyncHTTPClient
import Foundation
import NIOCore
import RunnerProtocol
import RunnerdClient
import SpawnerClient
import Testing
import TestSupport

/// A runnerd that sends a line that never ends (a compromised sandbox) cannot run the host
/// out of memory: the spawner cuts the stream at `Limits.eventLineCapBytes` and closes the
/// connection, and so does `RunnerdClient`.
@Suite(.timeLimit(.minutes(5))) struct LineCapTests {
    @Test func spawnerCutsAnEndlessLineFromRunnerd() async throws {
        let fake = try FakeRunnerd()
        defer { fake.stop() }
        let spawner = try await InProcessSpawner(backend: FakeRunnerdBackend(port: fake.port)) { _ in }
        do {
            let client = spawner.client
            _ = try await client.create("hostile")
            let response = try await client.send(
                .POST, "/v1/sessions/hostile/exec", body: try WireJSON.encode(ExecRequest(execId: "x", command: ["true"], timeoutMs: 0)),
                timeout: .minutes(2))
            #expect(response.status == .ok)
            var received = 0
            var messages: [SSEMessage] = []
            do {
                var parser = SSEParser()
                for try await chunk in response.body {
                    received += chunk.readableBytes
                    messages += try parser.append(chunk)
                }
                Issue.record("the stream ended cleanly after \(received) bytes")
            } catch {
                // Cut: the client never got the end of the message.
            }
            #expect(messages.map(\.event) == ["start"])
            #expect(received <= Limits.eventLineCapBytes + (64 << 10), "the client received \(received) bytes")
            // The spawner hung up on runnerd after about the cap (plus what socket buffers held).
            #expect(await eventually(timeout: .seconds(30)) { fake.hangUps == 1 })
            #expect(fake.endlessBytesSent < 64 << 20, "runnerd got \(fake.endlessBytesSent) bytes out")
            // The spawner is fine.
            #expect(try await client.session("hostile").state == .ready)
        } catch {
            await spawner.tearDown()
            throw error
        }
        await spawner.tearDown()
    }

    @Test func runnerdClientCutsAnEndlessLine() async throws {
        let fake = try FakeRunnerd()
        defer { fake.stop() }
        let runnerd = RunnerdClient(baseURL: "http://127.0.0.1:\(fake.port)", token: "t")
        var events: [ExecEvent] = []
        await #expect(throws: RunnerdClientError.lineTooLong(Limits.eventLineCapBytes)) {
            for try await event in try await runnerd.exec(ExecRequest(execId: "x", command: ["true"], timeoutMs: 0)) { events.append(event) }
        }
        #expect(events.count == 1)
        #expect(await eventually(timeout: .seconds(30)) { fake.hangUps == 1 })
        #expect(fake.endlessBytesSent < 64 << 20)
    }
}
