import Foundation
import RunnerProtocol
import RunnerdClient
import Testing
import TestSupport

@Suite("admission: limits, bad requests, bad input", .timeLimit(.minutes(10)))
struct AdmissionTests {
    @Test func liveExecLimitFailsTheExtraExecAndNothingElse() async throws {
        let runnerd = try await RunnerdProcess.start(environment: ["RUNNERD_MAX_LIVE_EXECS": "2"])
        let client = runnerd.client
        let first = Task { try await client.run("l1", ["sleep", "60"]) }
        let second = Task { try await client.run("l2", ["sleep", "60"]) }
        #expect(try await eventually { try await client.health().liveExecs == 2 })
        let third = try await client.run("l3", ["true"])
        #expect(third.events.count == 1)
        #expect(third.events.first?.seq == 1)
        #expect(third.fail?.code == .execLimit)
        #expect(try await client.status("l3").state == .gone, "a refused exec leaves no trace")
        #expect(try await client.cancel("l1").killed)
        #expect(try await first.value.exit?.cancelled == true)
        #expect(try await client.run("l3", ["true"]).exit?.exitCode == 0, "room again once one ended")
        #expect(try await client.cancel("l2").killed)
        #expect(try await second.value.exit?.cancelled == true)
        await runnerd.stop()
    }

    @Test func duplicateIdIsRefusedWhileRunningOrRetained() async throws {
        let runnerd = try await RunnerdProcess.start()
        let client = runnerd.client
        // Runs until the test says so (a file in the workspace), not for a time a loaded machine
        // could outlast before the duplicate arrives.
        let running = Task { try await client.run("dup", ["sh", "-c", "while [ ! -e go ]; do sleep 0.05; done"]) }
        #expect(try await eventually { try await client.status("dup").state == .running })
        #expect(try await client.run("dup", ["true"]).fail?.code == .duplicateExec)
        FileManager.default.createFile(atPath: runnerd.workspace + "/go", contents: nil)
        _ = try await running.value
        #expect(try await client.run("dup", ["true"]).fail?.code == .duplicateExec)
        #expect(try await client.status("dup").exitCode == 0, "the original is untouched")
        await runnerd.stop()
    }

    @Test func missingBinaryIsSpawnFailedAndRetained() async throws {
        let runnerd = try await RunnerdProcess.start()
        let result = try await runnerd.client.run("nobin", ["/definitely/not/here"])
        result.checkSequence()
        #expect(result.fail?.code == .spawnFailed)
        #expect(result.fail?.message.contains("/definitely/not/here") == true)
        let status = try await runnerd.client.status("nobin")
        #expect(status.state == .exited)
        #expect(status.failCode == .spawnFailed)
        let replay = try await runnerd.client.attachAll("nobin")
        #expect(replay.events == result.events)
        #expect(try await runnerd.client.run("after", ["true"]).exit?.exitCode == 0, "daemon unharmed")
        await runnerd.stop()
    }

    @Test func invalidRequestsFailAsBadRequestEvents() async throws {
        let runnerd = try await RunnerdProcess.start()
        let client = runnerd.client
        let invalid: [ExecRequest] = [
            ExecRequest(execId: "both", command: ["true"], shell: "true"),
            ExecRequest(execId: "neither"),
            ExecRequest(execId: "bad id!", command: ["true"]),
            ExecRequest(execId: "empty", command: []),
            ExecRequest(execId: "b64", command: ["true"], stdinBase64: "!!!"),
        ]
        for request in invalid {
            let result = try await client.run(request)
            #expect(result.events.count == 1)
            #expect(result.fail?.code == .badRequest, "\(request.execId)")
        }
        // A number out of range is a 400 (contract §3 "Bounds"), like a body that is not JSON.
        let negative = try await client.call(.POST, "/execs", body: try WireJSON.encode(ExecRequest(execId: "neg", command: ["true"], stdoutMaxBytes: -1)))
        #expect(negative.status == 400)
        #expect(try WireJSON.decode(ErrorBody.self, from: negative.body).message?.hasPrefix("stdoutMaxBytes") == true)
        // JSON of the wrong shape: a fail event too; not JSON at all: 400.
        let wrongShape = try await client.call(.POST, "/execs", body: Array(#"{"execId":"x","command":["true"]}"#.utf8))
        #expect(wrongShape.status == 200)
        let event = try WireJSON.decode(ExecEvent.self, from: wrongShape.body.dropLast())
        guard case .fail(let fail) = event.body else {
            Issue.record("expected a fail event, got \(event)")
            return
        }
        #expect(fail.code == .badRequest)
        #expect(fail.message.contains("timeoutMs"))
        let (code, body) = try await client.call(.POST, "/execs", body: Array("{not json".utf8))
        #expect(code == 400)
        let error = try WireJSON.decode(ErrorBody.self, from: body)
        #expect(error.error == "bad_request")
        #expect(error.message?.isEmpty == false)
        await runnerd.stop()
    }

    @Test func oversizedBodiesAre413AndUnknownRoutes404() async throws {
        let runnerd = try await RunnerdProcess.start()
        let client = runnerd.client
        // Refused on its head: runnerd answers 413 and closes without reading the body (an HTTP
        // client still sending it may see the close first, so the head goes over a raw socket).
        let port = runnerd.port, token = runnerd.token!
        let (head, closed) = try await blocking {
            let connection = try RawConnection(port: port)
            connection.send("POST /env HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\nContent-Type: application/json\r\nContent-Length: \(Limits.maxRequestBodyBytes + 1)\r\n\r\n")
            connection.send(String(repeating: "a", count: 4096))
            return (connection.readHead(), connection.readToEnd(timeout: 30).eof)
        }
        #expect(head?.status == 413)
        #expect(closed, "the connection of a refused body is closed")
        #expect(try await client.call(.GET, "/nope").status == 404)
        #expect(try await client.call(.DELETE, "/execs").status == 405)
        #expect(try await client.health().ok, "daemon unharmed")
        await runnerd.stop()
    }

    @Test func garbageOnTheWireDoesNotHurtTheDaemon() async throws {
        let runnerd = try await RunnerdProcess.start()
        let inputs = [
            "GARBAGE\r\n\r\n", "GET / HTTP/1.1\r\nContent-Length: -5\r\n\r\n", String(repeating: "A", count: 100_000),
            "POST /execs HTTP/1.1\r\nTransfer-Encoding: chunked\r\nAuthorization: Bearer \(runnerd.token!)\r\n\r\nzz\r\n",
            "POST /execs HTTP/1.1\r\nContent-Length: 10\r\nAuthorization: Bearer \(runnerd.token!)\r\n\r\n\u{0}\u{1}\u{2}",
        ]
        for input in inputs {
            let connection = try RawConnection(port: runnerd.port)
            connection.send(input)
            _ = connection.readSome(timeout: 0.3)
        }
        // Chunked bodies past the limit are refused as they stream in.
        let chunked = try RawConnection(port: runnerd.port)
        chunked.send("POST /env HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nAuthorization: Bearer \(runnerd.token!)\r\n\r\n")
        let chunk = String(repeating: "a", count: 1 << 20)
        for _ in 0..<5 { chunked.send(String(chunk.utf8.count, radix: 16) + "\r\n" + chunk + "\r\n") }
        let answer = String(decoding: chunked.readSome(timeout: 3), as: UTF8.self)
        #expect(answer.hasPrefix("HTTP/1.1 413"))
        #expect(try await runnerd.client.health().ok)
        #expect(try await runnerd.client.run("alive", ["true"]).exit?.exitCode == 0)
        await runnerd.stop()
    }
}
