/// A spawner under test, reached over HTTP only: its URL, its HMAC secret, the schemas.
public struct SpawnerTarget: Sendable {
    public let baseURL: String
    public let signer: RequestSigner
    public let clock: SigningClock
    public let client: WireClient
    public let validator: SchemaValidator
    public let runTag: String

    public init(baseURL: String, secret: [UInt8], client: WireClient, validator: SchemaValidator, runTag: String) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        signer = RequestSigner(secret: secret)
        clock = SigningClock()
        self.client = client
        self.validator = validator
        self.runTag = runTag
    }

    /// A session id unique to this run.
    public func sid(_ name: String) -> String { "cf-\(runTag)-\(name)" }
    public var org: String { "cf-org-\(runTag)" }

    /// The two signature headers for a request, signed now (or at `offsetMs` from now).
    public func signed(_ method: String, _ pathWithQuery: String, body: [UInt8], offsetMs: Int64 = 0) async -> [(String, String)] {
        let ts = await clock.next() + offsetMs
        return [("X-Spawner-Timestamp", String(ts)), ("X-Spawner-Signature", signer.signature(method: method, pathWithQuery: pathWithQuery, timestampMs: ts, body: body))]
    }

    public func call(
        _ method: String, _ path: String, json: JSON? = nil, raw: [UInt8]? = nil, headers: [(String, String)]? = nil, extra: [(String, String)] = [],
        timeout: Duration = .seconds(120)
    ) async throws -> WireResponse {
        let body = raw ?? json.map(JSONWriter.bytes)
        let signedHeaders: [(String, String)]
        if let headers { signedHeaders = headers } else { signedHeaders = await signed(method, path, body: body ?? []) }
        do {
            return try await client.send(method, baseURL + path, headers: signedHeaders + extra, body: body, timeout: timeout)
        } catch let failure as CheckFailure {
            throw failure
        } catch {
            throw CheckFailure("\(method) \(path): request failed: \(error)")
        }
    }

    /// Validates against a def of spawner.schema.json (`Name`) or runnerd.schema.json (`runnerd:Name`).
    public func validate(_ json: JSON, _ schema: String, _ what: String) throws {
        let ref = schema.hasPrefix("runnerd:") ? "runnerd.schema.json#/$defs/" + schema.dropFirst(8) : "spawner.schema.json#/$defs/" + schema
        if let violation = validator.validate(json, against: ref, document: "spawner.schema.json") {
            throw CheckFailure("\(what): \(json.description.prefix(160)) does not validate against \(schema): \(violation)")
        }
    }

    public func expectJSON(_ r: WireResponse, status: Int, schema: String, _ what: String) throws -> JSON {
        try expect(r.status == status, "\(what): expected \(status), got \(r.status) \(r.text.prefix(160))")
        let json = try r.json(what)
        try validate(json, schema, what)
        return json
    }

    public func json(_ method: String, _ path: String, _ body: JSON? = nil, status: Int = 200, schema: String) async throws -> JSON {
        try expectJSON(try await call(method, path, json: body), status: status, schema: schema, "\(method) \(path)")
    }

    public func expectError(_ r: WireResponse, _ statuses: Set<Int>, _ what: String) throws {
        try expect(statuses.contains(r.status), "\(what): expected \(statuses.sorted()), got \(r.status) \(r.text.prefix(160))")
        if (r.header("content-type") ?? "").contains("json") {
            try validate(try r.json(what), "ErrorBody", what)
        }
    }

    /// Creates a session (201, ready); the caller deletes it.
    public func create(_ sid: String?, owner: String = "alice", org: String? = nil, extra: [String: JSON] = [:]) async throws -> JSON {
        var body: [String: JSON] = ["owner": ["kind": "user", "id": .string(owner)], "orgId": .string(org ?? self.org)]
        if let sid { body["sessionId"] = .string(sid) }
        for (k, v) in extra { body[k] = v }
        let info = try await json("POST", "/v1/sessions", .object(body), status: 201, schema: "SessionInfo")
        try expect(info["state"]?.string == "ready", "a created session is \(info["state"]?.description ?? "?"), not ready")
        return info
    }

    public func delete(_ sid: String) async {
        _ = try? await call("DELETE", "/v1/sessions/\(sid)")
    }

    /// An SSE stream (exec, attach, watch): head checked.
    public func sse(_ method: String, _ path: String, body: JSON? = nil, extra: [(String, String)] = []) async throws -> SSEStream {
        let bytes = body.map(JSONWriter.bytes)
        let headers = await signed(method, path, body: bytes ?? []) + extra
        let lines: LineStream
        do {
            lines = try await client.open(method, baseURL + path, headers: headers, body: bytes)
        } catch {
            throw CheckFailure("\(method) \(path): request failed: \(error)")
        }
        if lines.status != 200 {
            let rest = (try? await lines.readAll(limit: 1 << 16))?.map { String(decoding: $0, as: UTF8.self) }.joined(separator: "\n") ?? ""
            lines.close()
            throw CheckFailure("\(method) \(path): expected 200, got \(lines.status) \(rest.prefix(160))")
        }
        let type = lines.header("content-type") ?? ""
        try expect(type.lowercased().hasPrefix("text/event-stream"), "\(method) \(path): content-type \(type), expected text/event-stream")
        return SSEStream(lines: lines, what: "\(method) \(path)")
    }

    /// Reads an exec's SSE stream to its end: every message's data validated as an ExecEvent,
    /// `event:` equal to its `t` and `id:` to its `seq`.
    public func events(_ stream: SSEStream) async throws -> ExecRun {
        var events: [JSON] = []
        var raw: [[UInt8]] = []
        while let message = try await stream.next() {
            let event = try message.data.parsedJSON(stream.what)
            try validate(event, "runnerd:ExecEvent", "\(stream.what): event")
            try expect(message.event == event["t"]?.string, "\(stream.what): SSE event \(message.event ?? "none") for t \(event["t"]?.description ?? "?")")
            try expect(message.id == event["seq"]?.description, "\(stream.what): SSE id \(message.id ?? "none") for seq \(event["seq"]?.description ?? "?")")
            events.append(event)
            raw.append(Array(message.data.utf8))
        }
        return ExecRun(events: events, raw: raw, what: stream.what)
    }

    public func exec(_ sid: String, _ request: JSON) async throws -> ExecRun {
        let stream = try await sse("POST", "/v1/sessions/\(sid)/exec", body: request)
        defer { stream.close() }
        return try await events(stream)
    }

    public func request(_ id: String, shell: String? = nil, command: [String]? = nil, timeoutMs: Int64 = 120_000, extra: [String: JSON] = [:]) -> JSON {
        var fields: [String: JSON] = ["execId": .string(id), "timeoutMs": .integer(timeoutMs), "stdoutMaxBytes": 0, "stderrMaxBytes": 0]
        if let shell { fields["shell"] = .string(shell) }
        if let command { fields["command"] = .array(command.map(JSON.string)) }
        for (k, v) in extra { fields[k] = v }
        return .object(fields)
    }
}

extension String {
    func parsedJSON(_ what: String) throws -> JSON {
        do { return try JSONParser.parse(self) } catch { throw CheckFailure("\(what): data is not JSON (\(error)): \(prefix(120))") }
    }
}
