/// What the operator says about the runnerd under test.
public struct RunnerdOptions: Sendable {
    /// `RUNNERD_MAX_LIVE_EXECS` of the target (the contract's default is 16).
    public var maxLiveExecs: Int
    public init(maxLiveExecs: Int = 16) { self.maxLiveExecs = maxLiveExecs }
}

/// Every check of the runnerd suite, in the order they run.
public enum RunnerdSuite {
    public static func checks(_ t: RunnerdTarget, _ options: RunnerdOptions = RunnerdOptions()) -> [Check] {
        RunnerdAuthChecks.all(t) + RunnerdEndpointChecks.all(t) + RunnerdExecChecks.all(t, options) + RunnerdCapChecks.all(t)
            + RunnerdLifecycleChecks.all(t) + RunnerdStdinChecks.all(t) + RunnerdEnvChecks.all(t) + RunnerdFileChecks.all(t)
            + RunnerdTerminalChecks.all(t) + RunnerdProcessChecks.all(t) + RunnerdWatchChecks.all(t)
    }
}

/// Polls `condition` until it holds (true) or `timeout` passes (false). For state the target
/// reaches on its own schedule (a process reaped, a file event delivered).
public func eventually(_ timeout: Duration = .seconds(15), every pause: Duration = .milliseconds(50), _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: pause)
    }
    return try await condition()
}

extension RunnerdTarget {
    /// A request the target must refuse as `code`: either a `400` answer, or an event stream
    /// whose only event is `fail` with that code (seq 1).
    public func expectRefused(_ request: JSON, code: String, _ what: String) async throws {
        let response = try await call("POST", "/execs", json: request)
        if response.status == 400 {
            let json = try response.json(what)
            try validate(json, "ErrorBody", what)
            return
        }
        try expect(response.status == 200, "\(what): expected 400 or a fail event, got \(response.status)")
        let lines = response.body.split(separator: 0x0A)
        try expect(lines.count == 1, "\(what): expected exactly one fail event, got \(lines.count) lines: \(response.text.prefix(200))")
        let event = try JSONParser.parse(Array(lines[0]))
        try validate(event, "ExecEvent", what)
        try expect(event["t"]?.string == "fail" && event["code"]?.string == code && event["seq"]?.int == 1,
                   "\(what): expected {seq:1, t:fail, code:\(code)}, got \(event)")
    }

    /// A `fail` event with `code` (not a 400): the contract names these codes as events.
    public func expectFailEvent(_ request: JSON, code: String, _ what: String) async throws {
        let run = try await run(request)
        _ = try run.fail(code)
    }

    /// Stages files: `[path: bytes]`; fails unless every one is staged.
    public func stage(_ files: [(String, [UInt8])]) async throws {
        let body: JSON = ["files": .array(files.map { ["path": .string($0.0), "contentBase64": .string(Base64Text.encode($0.1))] })]
        let answer = try await json("POST", "/files/stage", body, schema: "StageResponse")
        try expect(answer["staged"]?.array?.count == files.count, "POST /files/stage: not every file was staged: \(answer)")
    }

    /// Runs a shell script that must exit 0; its stdout.
    @discardableResult
    public func sh(_ name: String, _ script: String) async throws -> String {
        let run = try await run(name + "-\(UInt32.random(in: 0...UInt32.max))", shell: script)
        try run.exited(0)
        return run.stdoutText
    }

    /// Reads the `start` event of a freshly started exec.
    public func started(_ request: JSON) async throws -> (EventStream, JSON) {
        let stream = try await start(request)
        let first = try await stream.until("start") { _ in true }
        guard first["t"]?.string == "start" else {
            stream.close()
            throw CheckFailure("POST /execs: the first event is \(first), not start")
        }
        return (stream, first)
    }

    /// Ends a held exec (stdin eof, else cancel), ignoring the outcome: clean-up.
    public func finish(_ id: String) async {
        _ = try? await call("POST", "/execs/\(id)/stdin", json: ["eof": true])
        _ = try? await call("POST", "/execs/\(id)/cancel")
    }
}
