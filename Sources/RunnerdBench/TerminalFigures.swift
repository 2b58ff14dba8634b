import NIOCore
import RunnerProtocol
import SpawnerClient

/// Round trips through the spawner, side by side:
/// - `spawner_exec_roundtrip_p50_ms`: `POST /v1/sessions/{sid}/exec` of `/bin/true` until its
///   `exit` event (SSE), one after another;
/// - `pty_echo_roundtrip_p50_ms`: one byte typed into the terminal WebSocket until the
///   terminal's echo of it comes back (WebSocket → spawner → runnerd `/stdin` → the PTY's line
///   discipline → runnerd's event stream → spawner → WebSocket), with `cat` reading the terminal.
func measureTerminalFigures(_ spawner: SpawnerUnderTest, count: Int = 300, warmUp: Int = 20) async throws -> (execRoundTrip: Sample, ptyEcho: Sample) {
    let client = spawner.spawnerClient
    try await spawner.createSession("terminal")
    defer { Task { try? await spawner.deleteSession("terminal") } }

    let execRoundTrip = try await execRoundTrips(client, "terminal", count: count, warmUp: warmUp)

    let echo = SampleBox()
    try await client.terminal("terminal", size: TerminalSize(cols: 200, rows: 50)) { socket, messages in
        var iterator = messages.makeAsyncIterator()
        /// Output until `text` has come `times` times (across frames).
        func waitFor(_ text: String, times: Int = 1) async throws {
            var seen = ""
            while seen.ranges(of: text).count < times {
                guard let message = try await iterator.next() else { throw BenchError("terminal closed") }
                if case .output(let buffer) = TerminalSocket.decode(message) { seen += String(buffer: buffer) }
            }
        }
        // The shell reads `exec cat` (its echo is back), then `cat` reads the terminal: a line
        // typed before the shell restored the terminal's echo is read by `cat` but not echoed,
        // so the first line is only waited for once, the second twice (echo, then `cat`).
        try await socket.send(Array("exec cat\r".utf8))
        try await waitFor("exec cat\r\n")
        try await socket.send(Array("first-line\r".utf8))
        try await waitFor("first-line\r\n")
        try await socket.send(Array("cat-is-reading\r".utf8))
        try await waitFor("cat-is-reading\r\n", times: 2)
        for index in 0..<(count + warmUp) {
            let byte = UInt8(ascii: "a") + UInt8(index % 26)
            let clock = ContinuousClock()
            let start = clock.now
            try await socket.send([byte])
            try await waitFor(String(UnicodeScalar(byte)))
            if index >= warmUp { echo.add((clock.now - start).milliseconds) }
        }
        try await socket.send([0x0A, 0x04])  // end the line, then end of input: cat exits
        while try await iterator.next() != nil {}
    }
    return (execRoundTrip, echo.sample)
}

/// A sample filled inside a closure that must be Sendable.
private final class SampleBox: @unchecked Sendable {
    var sample = Sample()
    func add(_ value: Double) { sample.add(value) }
}

/// `/bin/true` through the spawner's SSE exec stream until its `exit` event, `count` times one
/// after another after `warmUp` runs.
func execRoundTrips(_ client: SpawnerClient, _ sessionId: String, count: Int, warmUp: Int) async throws -> Sample {
    var sample = Sample()
    for index in 0..<(count + warmUp) {
        let clock = ContinuousClock()
        let start = clock.now
        var ended = false
        for try await event in try await client.exec(sessionId, ExecRequest(execId: "rt-\(index)", command: ["/bin/true"], timeoutMs: 0)) {
            if event.isTerminal { ended = true }
        }
        guard ended else { throw BenchError("exec rt-\(index) in \(sessionId) ended without exit") }
        if index >= warmUp { sample.add((clock.now - start).milliseconds) }
    }
    return sample
}
