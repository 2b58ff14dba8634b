import ConformanceKit
import Foundation
import RunnerProtocol
import Testing

/// Every wire type of RunnerProtocol, encoded as the daemons encode it, validates against its
/// schema in docs/schemas — strictly: a field the code writes that the schema does not declare
/// fails, so the schemas cannot drift from the code.
@Suite("schemas match the wire types", .timeLimit(.minutes(2)))
struct SchemaDriftTests {
    static let strict = SchemaValidator(registry: .embedded, strict: true)

    /// (schema ref, encoded instance, what) for every type, with representative values.
    static func samples() throws -> [(String, [UInt8], String)] {
        func r(_ name: String) -> String { "runnerd.schema.json#/$defs/\(name)" }
        func s(_ name: String) -> String { "spawner.schema.json#/$defs/\(name)" }
        func e(_ value: some Encodable) throws -> [UInt8] { try WireJSON.encode(value) }
        var running = ExecStatus(execId: "e1", state: .running)
        running.startedAtMs = 1_700_000_000_000
        running.pid = 42
        running.lastSeq = 3
        var exited = ExecStatus(execId: "e1", state: .exited)
        exited.startedAtMs = 1_700_000_000_000
        exited.exitCode = 137
        exited.pid = 42
        exited.endedAtMs = 1_700_000_000_500
        exited.timedOut = false
        exited.cancelled = true
        exited.signal = "SIGKILL"
        exited.lastSeq = 9
        var failed = ExecStatus(execId: "e2", state: .exited)
        failed.exitCode = -1
        failed.failCode = .spawnFailed
        var lost = ExecStatus(execId: "e3", state: .exited)
        lost.exitCode = -1
        lost.lost = true
        let gone = ExecStatus(execId: "e4", state: .gone)
        let truncated = ExecEvent.Truncated(stdout: true, stderr: false)
        let info = SessionInfo(
            sessionId: "s-1", owner: SessionOwner(kind: "user", id: "alice"), orgId: "org", profile: "default", backend: "local", state: .ready,
            createdAtMs: 1, lastActivityAtMs: 2, expiresAtMs: 3, idleTimeoutMs: 0)
        return [
            (r("ExecRequest"), try e(ExecRequest(execId: "a-B_9", command: ["sh", "-c", "x"], cwd: "sub", env: ["A": "b"], timeoutMs: 1000, stdoutMaxBytes: 10, stderrMaxBytes: 0, stdinMode: .hold, stdinBase64: "eA==", killGraceMs: 100, pty: TerminalSize(cols: 80, rows: 24))), "ExecRequest (command)"),
            (r("ExecRequest"), try e(ExecRequest(execId: "x", shell: "echo", timeoutMs: 0, stdinMode: .close)), "ExecRequest (shell)"),
            (r("ExecEvent"), try e(ExecEvent(seq: 1, .start(.init(execId: "x", startedAtMs: 1_700_000_000_000, pid: 7)))), "start"),
            (r("ExecEvent"), try e(ExecEvent(seq: 2, .stdout(Array("hi\n".utf8)))), "stdout"),
            (r("ExecEvent"), try e(ExecEvent(seq: 3, .stderr([0, 255]))), "stderr"),
            (r("ExecEvent"), try e(ExecEvent(seq: 4, .exit(.init(exitCode: 143, durationMs: 12, truncated: truncated, timedOut: true, cancelled: false, signal: "SIGTERM")))), "exit (signal)"),
            (r("ExecEvent"), try e(ExecEvent(seq: 4, .exit(.init(exitCode: -1, durationMs: 0, truncated: truncated, timedOut: false, cancelled: false, lost: true)))), "exit (lost)"),
            (r("ExecEvent"), try e(ExecEvent(seq: 1, .fail(.init(code: .duplicateExec, message: "taken")))), "fail"),
            (r("ExecEvent"), try e(ExecEvent(seq: 1, .fail(.init(code: .shuttingDown, message: "bye")))), "fail (SHUTTING_DOWN)"),
            (r("ExecEvent"), try e(ExecEvent(seq: 9, .gap(.init(fromSeq: 1, toSeq: 9)))), "gap"),
            (r("ExecStatus"), try e(running), "status running"),
            (r("ExecStatus"), try e(exited), "status exited"),
            (r("ExecStatus"), try e(failed), "status failed"),
            (r("ExecStatus"), try e(lost), "status lost"),
            (r("ExecStatus"), try e(gone), "status gone"),
            (r("ReadyResponse"), try e(ReadyResponse()), "readyz"),
            (r("HealthResponse"), try e(HealthResponse(ok: true, bootedAtMs: 1, lastActivityAtMs: 2, liveExecs: 0, version: "1", draining: true)), "healthz"),
            (r("CancelResponse"), try e(CancelResponse(killed: true)), "cancel"),
            (r("StdinRequest"), try e(StdinRequest(b64: "e30K", eof: true)), "stdin request"),
            (r("StdinResponse"), try e(StdinResponse(ok: true)), "stdin ok"),
            (r("StdinResponse"), try e(StdinResponse(ok: false, reason: .badLine)), "stdin refused"),
            (r("EnvPatch"), try e(EnvPatch(set: ["A": "1"], unset: ["B"])), "env patch"),
            (r("EnvResponse"), try e(EnvResponse(denied: ["PATH"])), "env answer"),
            (r("StageRequest"), try e(StageRequest(files: [StageFile(path: "a", contentBase64: "eA=="), StageFile(path: "b", url: "https://example.invalid/x")])), "stage request"),
            (r("StageResponse"), try e(StageResponse(staged: [StagedFile(path: "a", bytes: 1)], skipped: [SkippedPath(path: "b", reason: SkipReason.notFound)])), "stage answer"),
            (r("DeleteRequest"), try e(DeleteRequest(paths: ["a"])), "delete request"),
            (r("DeleteResponse"), try e(DeleteResponse(deleted: ["a"], skipped: [SkippedPath(path: "b", reason: "x")])), "delete answer"),
            (r("DirectoryListing"), try e(DirectoryListing(entries: [DirectoryEntry(name: "a", type: .file, size: 1, mtimeMs: 2), DirectoryEntry(name: "d", type: .dir, size: 0, mtimeMs: 2), DirectoryEntry(name: "l", type: .other, size: 0, mtimeMs: 2)])), "listing"),
            (r("TerminalSize"), try e(TerminalSize(cols: 1000, rows: 1)), "resize"),
            (r("OKResponse"), try e(OKResponse()), "resize answer"),
            (r("SignalRequest"), try e(SignalRequest(signal: "SIGINT")), "signal request"),
            (r("SignalResponse"), try e(SignalResponse(signaled: false)), "signal answer"),
            (r("ProcessList"), try e(ProcessList(processes: [ProcessEntry(pid: 2, ppid: 1, pgid: 2, sid: 2, uid: 10001, state: "S", startedAtMs: 5, command: ["sleep", "1"], execId: "e"), ProcessEntry(pid: 3, ppid: 2, pgid: 2, sid: 2, uid: 0, state: "Z", startedAtMs: 5, command: [])])), "processes"),
            (r("FsWatchEvent"), try e(FsWatchEvent(seq: 1, t: .watching, path: "")), "watching"),
            (r("FsWatchEvent"), try e(FsWatchEvent(seq: 2, t: .fs, path: "a/b", op: .rename, type: .file, from: "a/c")), "fs rename"),
            (r("FsWatchEvent"), try e(FsWatchEvent(seq: 3, t: .overflow, reason: "queue")), "overflow"),
            (r("ErrorBody"), try e(ErrorBody(error: RunnerdErrorKind.badRequest, message: "x")), "runnerd error"),
            (s("ErrorBody"), try e(ErrorBody(error: SpawnerErrorKind.totalCapReached)), "spawner error"),
            (s("SessionInfo"), try e(info), "session"),
            (s("SessionList"), try e(SessionList(sessions: [info])), "session list"),
            (s("CreateSessionRequest"), try e(CreateSessionRequest(sessionId: "s-1", owner: SessionOwner(kind: "user", id: "a"), orgId: "o", profile: "default", image: "img", env: ["A": "b"], ttlMs: 1000, idleTimeoutMs: 0)), "create"),
            (s("SpawnerHealth"), try e(SpawnerHealth(ok: true, version: "1", backend: "local", sessions: 0)), "spawner healthz"),
            (s("TerminalClientFrame"), try e(TerminalFrame.Client(resize: TerminalSize(cols: 80, rows: 24))), "terminal resize frame"),
            (s("TerminalClientFrame"), try e(TerminalFrame.Client(signal: "INT")), "terminal signal frame"),
            (s("TerminalServerFrame"), try e(TerminalFrame.Server(exec: .init(execId: "term-1", afterSeq: 1))), "terminal exec frame"),
            (s("TerminalServerFrame"), try e(TerminalFrame.Server(gap: .init(fromSeq: 1, toSeq: 4))), "terminal gap frame"),
            (s("TerminalServerFrame"), try e(TerminalFrame.Server(exit: .init(exitCode: 0, durationMs: 1, truncated: truncated, timedOut: false, cancelled: false))), "terminal exit frame"),
            (s("TerminalServerFrame"), try e(TerminalFrame.Server(fail: .init(code: .spawnFailed, message: "x"))), "terminal fail frame"),
        ]
    }

    @Test func everyWireTypeValidatesStrictly() throws {
        for (ref, bytes, what) in try Self.samples() {
            let json = try JSONParser.parse(bytes)
            let violation = Self.strict.validate(json, against: ref)
            #expect(violation == nil, "\(what): \(String(decoding: bytes, as: UTF8.self)) against \(ref): \(violation?.description ?? "")")
        }
    }

    /// The schemas are not vacuous: what breaks the contract does not validate.
    @Test func brokenMessagesDoNotValidate() throws {
        let v = SchemaValidator(registry: .embedded)
        let broken: [(String, String)] = [
            ("ExecEvent", #"{"t":"start","execId":"x","startedAtMs":1,"pid":1}"#),
            ("ExecEvent", #"{"seq":0,"t":"stdout","b64":""}"#),
            ("ExecEvent", #"{"seq":1,"t":"bogus"}"#),
            ("ExecEvent", #"{"seq":1,"t":"fail","code":"NOPE","message":""}"#),
            ("ExecEvent", #"{"seq":2,"t":"exit","exitCode":0,"durationMs":1,"truncated":{"stdout":false},"timedOut":false,"cancelled":false}"#),
            ("ExecEvent", #"{"seq":1.5,"t":"gap","fromSeq":1,"toSeq":1}"#),
            ("ExecRequest", #"{"execId":"a b","shell":"x","timeoutMs":0,"stdoutMaxBytes":0,"stderrMaxBytes":0}"#),
            ("ExecRequest", #"{"execId":"a","shell":"x","command":["y"],"timeoutMs":0,"stdoutMaxBytes":0,"stderrMaxBytes":0}"#),
            ("ExecRequest", #"{"execId":"a","timeoutMs":0,"stdoutMaxBytes":0,"stderrMaxBytes":0}"#),
            ("ExecRequest", #"{"execId":"a","shell":"x","timeoutMs":-1,"stdoutMaxBytes":0,"stderrMaxBytes":0}"#),
            ("ExecRequest", #"{"execId":"a","shell":"x","timeoutMs":0,"stdoutMaxBytes":0,"stderrMaxBytes":0,"pty":{"cols":0,"rows":5}}"#),
            ("ExecStatus", #"{"execId":"a","state":"running"}"#),
            ("ExecStatus", #"{"execId":"a","state":"exited"}"#),
            ("StdinResponse", #"{"ok":false,"reason":"OTHER"}"#),
            ("HealthResponse", #"{"ok":true}"#),
            ("FsWatchEvent", #"{"seq":2,"t":"fs","op":"chmod","path":"a","type":"file"}"#),
        ]
        for (name, text) in broken {
            #expect(v.validate(try JSONParser.parse(text), against: name) != nil, "\(name) accepted \(text)")
        }
        #expect(Self.strict.validate(try JSONParser.parse(#"{"killed":true,"extra":1}"#), against: "CancelResponse") != nil, "strict mode let an undeclared field through")
    }

    /// The schemas are valid draft 2020-12 (python's jsonschema, the reference implementation,
    /// checks them), and it agrees with the kit's validator on every sample.
    @Test func referenceValidatorAgrees() throws {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = ["python3", "-c", "import jsonschema"]
        try probe.run()
        probe.waitUntilExit()
        try #require(probe.terminationStatus == 0, "python3 has no jsonschema: bash scripts/test-prereqs/jsonschema.sh")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("schema-check-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var lines: [String] = []
        for (ref, bytes, _) in try Self.samples() { lines.append(#"{"ref":"\#(ref)","instance":\#(String(decoding: bytes, as: UTF8.self))}"#) }
        try lines.joined(separator: "\n").write(to: dir.appendingPathComponent("samples.ndjson"), atomically: true, encoding: .utf8)
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let script = root.appendingPathComponent("scripts/lib/check-schemas.py").path
        let check = Process()
        check.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        check.arguments = ["python3", script, root.appendingPathComponent("docs/schemas").path, dir.appendingPathComponent("samples.ndjson").path]
        let pipe = Pipe()
        check.standardOutput = pipe
        check.standardError = pipe
        try check.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        check.waitUntilExit()
        #expect(check.terminationStatus == 0, "check-schemas.py: \(output)")
    }
}
