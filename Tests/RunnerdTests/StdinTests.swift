import Foundation
import RunnerProtocol
import RunnerdClient
import Testing
import TestSupport

@Suite("stdin modes", .timeLimit(.minutes(5)))
struct StdinTests {
    @Test func closeModeWritesTheInitialBytesThenEOF() async throws {
        let runnerd = try await RunnerdProcess.start()
        let result = try await runnerd.client.run("cat", ["cat"]) {
            $0.stdinBase64 = Base64.encode(Array("fed to stdin\n".utf8))
        }
        #expect(result.stdoutText == "fed to stdin\n")
        #expect(result.exit?.exitCode == 0)
        // Without stdinBase64 stdin is at EOF at once.
        let empty = try await runnerd.client.run("cat2", ["cat"])
        #expect(empty.stdout.isEmpty)
        #expect(empty.exit?.exitCode == 0)
        await runnerd.stop()
    }

    @Test func holdModeTakesOneJSONLinePerWriteUntilEOF() async throws {
        let runnerd = try await RunnerdProcess.start()
        let client = runnerd.client
        let exec = Task {
            try await client.run("held", ["cat"]) {
                $0.stdinMode = .hold
                $0.stdinBase64 = Base64.encode(Array("{\"first\":0}\n".utf8))
            }
        }
        #expect(try await eventually { try await client.status("held").state == .running })
        func write(_ text: String) async throws -> StdinResponse {
            try await client.stdin("held", StdinRequest(b64: Base64.encode(Array(text.utf8))))
        }
        #expect(try await write("{\"n\":1}\n") == StdinResponse(ok: true))
        #expect(try await write("[1,2,3]\n") == StdinResponse(ok: true))
        #expect(try await write("{\"n\":2}") == StdinResponse(ok: false, reason: .badLine), "no newline")
        #expect(try await write("{\"a\":1}\n{\"b\":2}\n") == StdinResponse(ok: false, reason: .badLine), "two lines")
        #expect(try await write("not json\n") == StdinResponse(ok: false, reason: .badLine))
        #expect(try await client.stdin("held", StdinRequest(eof: true)) == StdinResponse(ok: true))
        let result = try await exec.value
        #expect(result.stdoutText == "{\"first\":0}\n{\"n\":1}\n[1,2,3]\n")
        #expect(result.exit?.exitCode == 0)
        #expect(try await write("{\"late\":1}\n") == StdinResponse(ok: false, reason: .stdinClosed))
        #expect(try await client.stdin("nobody", StdinRequest(eof: true)) == StdinResponse(ok: false, reason: .notFound))
        await runnerd.stop()
    }

    @Test func closeModeRefusesLaterWrites() async throws {
        let runnerd = try await RunnerdProcess.start()
        let client = runnerd.client
        // Runs until the test creates `release`, so it is surely running when written to.
        let exec = Task { try await client.run("closed", ["sh", "-c", "while [ ! -e release ]; do sleep 0.05; done"]) }
        #expect(try await eventually { try await client.status("closed").state == .running })
        let response = try await client.stdin("closed", StdinRequest(b64: Base64.encode(Array("{}\n".utf8))))
        #expect(response == StdinResponse(ok: false, reason: .stdinClosed))
        #expect(FileManager.default.createFile(atPath: runnerd.workspace + "/release", contents: nil))
        #expect(try await exec.value.exit?.exitCode == 0)
        await runnerd.stop()
    }

    @Test func oversizedStdinWriteIsRefused() async throws {
        let runnerd = try await RunnerdProcess.start()
        let client = runnerd.client
        let exec = Task { try await client.run("big-stdin", ["cat"]) { $0.stdinMode = .hold } }
        #expect(try await eventually { try await client.status("big-stdin").state == .running })
        let line = "\"" + String(repeating: "a", count: Limits.stdinMaxWriteBytes) + "\"\n"
        let body = try WireJSON.encode(StdinRequest(b64: Base64.encode(Array(line.utf8))))
        let (code, _) = try await client.call(.POST, "/execs/big-stdin/stdin", body: body)
        #expect(code == 413)
        #expect(try await client.stdin("big-stdin", StdinRequest(eof: true)).ok)
        #expect(try await exec.value.stdout.isEmpty)
        await runnerd.stop()
    }

    /// A child that never reads its stdin: writes fill the pipe until one waits for it; every
    /// other write meanwhile is refused with 409 (nothing queues in runnerd), and cancelling the
    /// exec answers the waiting one WRITE_FAILED.
    @Test func writesToAStdinNobodyReadsAreBoundedNotQueued() async throws {
        let runnerd = try await RunnerdProcess.start()
        let client = runnerd.client
        let exec = Task { try await client.run("deaf", ["sleep", "600"]) { $0.stdinMode = .hold } }
        #expect(try await eventually { try await client.status("deaf").state == .running })
        // Writes of 60 KB, one at a time: each is taken by the pipe, until one waits. An empty
        // write probes without writing: it is refused (409) exactly while a write waits.
        let line = Array(("\"" + String(repeating: "a", count: 60_000) + "\"\n").utf8)
        let body = try WireJSON.encode(StdinRequest(b64: Base64.encode(line)))
        let probe = try WireJSON.encode(StdinRequest(b64: ""))
        var accepted = 0
        var waiting: Task<(status: Int, body: [UInt8]), any Error>?
        while waiting == nil {
            let write = Task { try await client.call(.POST, "/execs/deaf/stdin", body: body) }
            let answered = Locked(false)
            let watcher = Task {
                _ = try? await write.value
                answered.update { $0 = true }
            }
            var isWaiting = false
            #expect(try await eventually {
                if answered.value { return true }
                isWaiting = try await client.call(.POST, "/execs/deaf/stdin", body: probe).status == 409
                return isWaiting
            })
            if isWaiting {
                waiting = write
            } else {
                _ = await watcher.value
                let (status, answer) = try await write.value
                #expect(status == 200 && (try? WireJSON.decode(StdinResponse.self, from: answer)) == StdinResponse(ok: true))
                accepted += 1
                // The pipe holds 1 MiB at the very most: a write must have waited by then.
                #expect(accepted * line.count <= (1 << 20) + line.count, "\(accepted) writes of \(line.count) bytes accepted")
                if accepted * line.count > (1 << 20) + line.count { break }
            }
        }
        let pending = try #require(waiting)
        // While it waits, a write is refused, not queued.
        let (busyStatus, busyAnswer) = try await client.call(.POST, "/execs/deaf/stdin", body: body)
        #expect(busyStatus == 409)
        #expect(try WireJSON.decode(ErrorBody.self, from: busyAnswer).error == "stdin_busy")
        // Cancelling the exec closes the pipe: the waiting write fails.
        #expect(try await client.cancel("deaf").killed)
        let (status, answer) = try await pending.value
        #expect(status == 200)
        #expect(try WireJSON.decode(StdinResponse.self, from: answer) == StdinResponse(ok: false, reason: .writeFailed))
        let result = try await exec.value
        #expect(result.exit?.cancelled == true)
        #expect(try await client.ready())
        await runnerd.stop()
    }
}
