/// A runnerd under test, reached over HTTP only: its URL, its token, the schemas every answer
/// is validated against, and names unique to this run (so a run leaves nothing a second run
/// trips over).
public struct RunnerdTarget: Sendable {
    public let baseURL: String
    public let token: String
    public let client: WireClient
    public let validator: SchemaValidator
    /// A short random tag in every exec id and path of this run.
    public let runTag: String

    public init(baseURL: String, token: String, client: WireClient, validator: SchemaValidator, runTag: String) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.token = token
        self.client = client
        self.validator = validator
        self.runTag = runTag
    }

    public var auth: [(String, String)] { [("Authorization", "Bearer \(token)")] }

    /// An exec id unique to this run.
    public func id(_ name: String) -> String { "cf-\(runTag)-\(name)" }

    /// A workspace-relative directory unique to this run.
    public var dir: String { "conformance-\(runTag)" }

    // MARK: Plain requests

    public func call(
        _ method: String, _ path: String, json: JSON? = nil, raw: [UInt8]? = nil, headers: [(String, String)]? = nil,
        timeout: Duration = .seconds(60)
    ) async throws -> WireResponse {
        let body = raw ?? json.map(JSONWriter.bytes)
        do {
            return try await client.send(method, baseURL + path, headers: headers ?? auth, body: body, timeout: timeout)
        } catch let failure as CheckFailure {
            throw failure
        } catch {
            throw CheckFailure("\(method) \(path): request failed: \(error)")
        }
    }

    /// The answer's JSON, after checking the status and validating it against `schema`
    /// (a `$defs` name of runnerd.schema.json).
    public func expectJSON(_ response: WireResponse, status: Int, schema: String, _ what: String) throws -> JSON {
        try expect(response.status == status, "\(what): expected \(status), got \(response.status) \(response.text.prefix(160))")
        let json = try response.json(what)
        try validate(json, schema, what)
        return json
    }

    public func validate(_ json: JSON, _ schema: String, _ what: String) throws {
        if let violation = validator.validate(json, against: schema) {
            throw CheckFailure("\(what): \(json.description.prefix(160)) does not validate against \(schema): \(violation)")
        }
    }

    /// A JSON call answered `status` with a body of `schema`.
    public func json(_ method: String, _ path: String, _ body: JSON? = nil, status: Int = 200, schema: String) async throws -> JSON {
        try expectJSON(try await call(method, path, json: body), status: status, schema: schema, "\(method) \(path)")
    }

    /// An error answer: the status, and a body that is an ErrorBody (when JSON is sent).
    public func expectError(_ response: WireResponse, _ statuses: Set<Int>, _ what: String, error: String? = nil) throws {
        try expect(statuses.contains(response.status), "\(what): expected \(statuses.sorted()), got \(response.status) \(response.text.prefix(160))")
        if let error {
            let json = try response.json(what)
            try validate(json, "ErrorBody", what)
            try expect(json["error"]?.string == error, "\(what): expected error \"\(error)\", got \(json)")
        }
    }

    // MARK: Execs

    /// An ExecRequest with the contract's required fields.
    public func request(
        _ id: String, shell: String? = nil, command: [String]? = nil, timeoutMs: Int64 = 120_000, stdoutMax: Int64 = 0, stderrMax: Int64 = 0,
        extra: [String: JSON] = [:]
    ) -> JSON {
        var fields: [String: JSON] = [
            "execId": .string(id), "timeoutMs": .integer(timeoutMs), "stdoutMaxBytes": .integer(stdoutMax), "stderrMaxBytes": .integer(stderrMax),
        ]
        if let shell { fields["shell"] = .string(shell) }
        if let command { fields["command"] = .array(command.map(JSON.string)) }
        for (key, value) in extra { fields[key] = value }
        return .object(fields)
    }

    /// `POST /execs`: the head checked (200, NDJSON), the events to be read.
    public func start(_ request: JSON) async throws -> EventStream {
        try await openEvents("POST", "/execs", body: JSONWriter.bytes(request))
    }

    /// `GET /execs/{id}/attach?sinceSeq=N`.
    public func attach(_ id: String, sinceSeq: String? = "0") async throws -> EventStream {
        try await openEvents("GET", "/execs/\(id)/attach" + (sinceSeq.map { "?sinceSeq=\($0)" } ?? ""), body: nil)
    }

    func openEvents(_ method: String, _ path: String, body: [UInt8]?) async throws -> EventStream {
        let stream: LineStream
        do {
            stream = try await client.open(method, baseURL + path, headers: auth, body: body)
        } catch {
            throw CheckFailure("\(method) \(path): request failed: \(error)")
        }
        if stream.status != 200 {
            let rest = (try? await stream.readAll(limit: 1 << 16))?.map { String(decoding: $0, as: UTF8.self) }.joined(separator: "\n") ?? ""
            stream.close()
            throw CheckFailure("\(method) \(path): expected 200, got \(stream.status) \(rest.prefix(160))")
        }
        let type = stream.header("content-type") ?? ""
        try expect(type.lowercased().hasPrefix("application/x-ndjson"), "\(method) \(path): content-type \(type), expected application/x-ndjson")
        return EventStream(lines: stream, target: self, what: "\(method) \(path)")
    }

    /// Runs an exec to its end: every event, validated.
    public func run(_ request: JSON) async throws -> ExecRun {
        let stream = try await start(request)
        defer { stream.close() }
        return try await stream.rest()
    }

    public func run(_ name: String, shell: String, timeoutMs: Int64 = 120_000, extra: [String: JSON] = [:]) async throws -> ExecRun {
        try await run(request(id(name), shell: shell, timeoutMs: timeoutMs, extra: extra))
    }
}

/// The events of an exec stream, each validated against `ExecEvent` as it arrives.
public final class EventStream: @unchecked Sendable {
    let lines: LineStream
    let target: RunnerdTarget
    let what: String
    public private(set) var seen: [JSON] = []
    /// Each event's line as received (for byte counts and byte-equal replays).
    public private(set) var raw: [[UInt8]] = []

    init(lines: LineStream, target: RunnerdTarget, what: String) {
        self.lines = lines
        self.target = target
        self.what = what
    }

    /// The next event, or nil at the end of the stream.
    public func next() async throws -> JSON? {
        let line: [UInt8]?
        do {
            line = try await lines.nextLine()
        } catch let failure as CheckFailure {
            throw CheckFailure("\(what): \(failure.why)")
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw CheckFailure("\(what): the stream broke: \(error)")
        }
        guard let line else { return nil }
        let event: JSON
        do {
            event = try JSONParser.parse(line)
        } catch {
            throw CheckFailure("\(what): a line is not JSON (\(error)): \(String(decoding: line.prefix(120), as: UTF8.self))")
        }
        try target.validate(event, "ExecEvent", "\(what): event")
        seen.append(event)
        raw.append(line)
        return event
    }

    /// Reads until an event satisfies `condition` (which is returned); fails at the end of the stream.
    @discardableResult
    public func until(_ description: String, _ condition: (JSON) -> Bool) async throws -> JSON {
        while let event = try await next() {
            if condition(event) { return event }
        }
        throw CheckFailure("\(what): the stream ended before \(description); events: \(ExecRun.summary(seen))")
    }

    /// Reads until stdout (all stdout so far) contains `text`.
    public func untilOutput(_ text: String) async throws {
        var output: [UInt8] = []
        for event in seen { output += ExecRun.bytes(event, "stdout") }
        if String(decoding: output, as: UTF8.self).contains(text) { return }
        try await until("stdout contains \(text)") { event in
            output += ExecRun.bytes(event, "stdout")
            return String(decoding: output, as: UTF8.self).contains(text)
        }
    }

    /// Everything to the end of the stream (what was read before included).
    public func rest() async throws -> ExecRun {
        while try await next() != nil {}
        return ExecRun(events: seen, raw: raw, what: what)
    }

    public func close() { lines.close() }
}

/// A finished exec stream.
public struct ExecRun: Sendable {
    public let events: [JSON]
    public let raw: [[UInt8]]
    public let what: String

    static func bytes(_ event: JSON, _ kind: String) -> [UInt8] {
        guard event["t"]?.string == kind, let text = event["b64"]?.string else { return [] }
        return Base64Text.decode(text) ?? []
    }

    public var stdout: [UInt8] { events.flatMap { Self.bytes($0, "stdout") } }
    public var stderr: [UInt8] { events.flatMap { Self.bytes($0, "stderr") } }
    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
    public var last: JSON? { events.last }
    public var kinds: [String] { events.map { $0["t"]?.string ?? "?" } }

    /// The `exit` event, which must be last.
    public func exit() throws -> JSON {
        let last = try require(events.last, "\(what): no event at all")
        try expect(last["t"]?.string == "exit", "\(what): expected exit last, got \(Self.summary(events))")
        return last
    }

    /// The `fail` event, which must be last (and the only terminal event).
    public func fail(_ code: String) throws -> JSON {
        let last = try require(events.last, "\(what): no event at all")
        try expect(last["t"]?.string == "fail" && last["code"]?.string == code, "\(what): expected fail \(code) last, got \(Self.summary(events))")
        try verifyOrder()
        return last
    }

    /// Exactly `[exit]` at the end with `exitCode` and the contract's ordering rules.
    @discardableResult
    public func exited(_ code: Int64) throws -> JSON {
        try verifyOrder()
        let exit = try exit()
        try expect(exit["exitCode"]?.int == code, "\(what): expected exitCode \(code), got \(exit); stderr: \(stderrText.prefix(200))")
        return exit
    }

    /// The contract's order: seq 1, 2, 3, … with no holes from `firstSeq`, `start` first (when
    /// the stream begins at 1 and the exec started), exactly one `exit`/`fail` and it last.
    public func verifyOrder(firstSeq: UInt64 = 1) throws {
        var expected = firstSeq
        for (i, event) in events.enumerated() {
            let seq = try require(event["seq"]?.uint, "\(what): event without seq: \(event)")
            try expect(seq == expected, "\(what): seq \(seq) where \(expected) was due (events: \(Self.summary(events)))")
            let kind = event["t"]?.string ?? ""
            try expect(kind != "gap", "\(what): a gap in a stream that did not ask for lost events")
            if kind == "exit" || kind == "fail" {
                try expect(i == events.count - 1, "\(what): \(kind) is not last (events: \(Self.summary(events)))")
            }
            expected += 1
        }
        if firstSeq == 1, let first = events.first, first["t"]?.string != "fail" {
            try expect(first["t"]?.string == "start", "\(what): the first event is \(first["t"]?.string ?? "?"), not start")
        }
        let terminal = try require(events.last, "\(what): no events")
        try expect(["exit", "fail"].contains(terminal["t"]?.string ?? ""), "\(what): the stream ended without exit or fail (events: \(Self.summary(events)))")
    }

    /// `start#1 stdout#2 … exit#5`, for messages.
    public static func summary(_ events: [JSON]) -> String {
        let parts = events.prefix(12).map { "\($0["t"]?.string ?? "?")#\($0["seq"]?.description ?? "?")" }
        return parts.joined(separator: " ") + (events.count > 12 ? " … (\(events.count) events)" : "")
    }
}
