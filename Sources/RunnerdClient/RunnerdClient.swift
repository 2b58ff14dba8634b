import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import RunnerProtocol

/// Errors of `RunnerdClient`.
public enum RunnerdClientError: Error, Equatable, Sendable {
    /// An answer with an unexpected status; `body` is what came with it.
    case status(Int, body: String)
    /// A stream ended in the middle of a line (the connection was cut).
    case truncatedStream
    /// A stream carried a line longer than the cap (`Limits.eventLineCapBytes`): it was cut there.
    case lineTooLong(Int)
}

/// A client of runnerd's HTTP API (section 1 of the contract), over async-http-client.
///
/// Exec streams come back as `ExecEventSequence`s (decoded) or raw NDJSON lines, both with
/// the HTTP body's backpressure.
public struct RunnerdClient: Sendable {
    public let baseURL: String
    public let token: String?
    public let httpClient: HTTPClient

    public typealias Body = HTTPClientResponse.Body

    /// How long an exec, attach or watch stream may stay open.
    public static let streamTimeout: TimeAmount = .hours(24)

    public init(baseURL: String, token: String?, httpClient: HTTPClient = .shared) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.token = token
        self.httpClient = httpClient
    }

    /// A raw request; returns the response with its body unread.
    public func send(
        _ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, headers: [(String, String)] = [],
        timeout: TimeAmount = .seconds(60)
    ) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        if let token { request.headers.add(name: "authorization", value: "Bearer \(token)") }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(body)
        }
        return try await httpClient.execute(request, timeout: timeout)
    }

    /// A request whose whole answer is read (up to `limit` bytes): status and body.
    public func call(
        _ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, headers: [(String, String)] = [], limit: Int = 32 << 20
    ) async throws -> (status: Int, body: [UInt8]) {
        let response = try await send(method, path, body: body, headers: headers)
        let bytes = try await response.body.collect(upTo: limit)
        return (Int(response.status.code), Array(bytes.readableBytesView))
    }

    /// A JSON call that must answer `expect`; the answer decoded as `T`.
    public func json<T: Decodable>(
        _ method: HTTPMethod, _ path: String, body: (some Encodable)? = Optional<ExecRequest>.none, expect: Int = 200, as type: T.Type = T.self
    ) async throws -> T {
        let encoded = try body.map { try WireJSON.encode($0) }
        let (status, bytes) = try await call(method, path, body: encoded)
        guard status == expect else { throw RunnerdClientError.status(status, body: String(decoding: bytes, as: UTF8.self)) }
        return try WireJSON.decode(T.self, from: bytes)
    }

    // MARK: Endpoints

    public func ready() async throws -> Bool {
        (try await call(.GET, "/readyz")).status == 200
    }

    /// What a runnerd answered to an adoption challenge (contract §4).
    public enum ChallengeAnswer: Sendable, Equatable {
        /// `200` with a proof that checks against this client's token.
        case proven
        /// `200` without a proof (a runnerd older than the challenge answers so too).
        case noProof
        /// `200` with a proof of another token, or something else than readiness: `why`.
        case refuted(String)
        /// Any other status: not ready (yet), or not a runnerd.
        case status(Int)
    }

    /// `GET /readyz?challenge=C` with a fresh challenge and without the token (contract §4):
    /// whether the runnerd there holds this client's token, learned without sending it.
    public func challenge() async throws -> ChallengeAnswer {
        let challenge = ReadinessChallenge.make()
        let anonymous = RunnerdClient(baseURL: baseURL, token: nil, httpClient: httpClient)
        let (status, body) = try await anonymous.call(.GET, "/readyz?challenge=\(challenge)", limit: 64 << 10)
        guard status == 200 else { return .status(status) }
        guard let ready = try? WireJSON.decode(ReadyResponse.self, from: body) else { return .refuted("/readyz answered something else than readiness") }
        guard let proof = ready.proof else { return .noProof }
        guard ReadinessChallenge.verify(proof: proof, token: Array((token ?? "").utf8), challenge: challenge) else {
            return .refuted("/readyz proved another token")
        }
        return .proven
    }

    public func health() async throws -> HealthResponse {
        try await json(.GET, "/healthz")
    }

    /// `POST /execs`: the exec's events, live, until it ends.
    public func exec(_ request: ExecRequest) async throws -> ExecEventSequence<Body> {
        ExecEventSequence(lines: try await execLines(request))
    }

    /// `POST /execs` as raw NDJSON lines.
    public func execLines(_ request: ExecRequest) async throws -> NDJSONLineSequence<Body> {
        let response = try await send(.POST, "/execs", body: try WireJSON.encode(request), timeout: .hours(24))
        return try await lines(response)
    }

    /// `GET /execs/{id}/attach?sinceSeq=N`.
    public func attach(_ execId: String, sinceSeq: UInt64 = 0) async throws -> ExecEventSequence<Body> {
        ExecEventSequence(lines: try await attachLines(execId, sinceSeq: sinceSeq))
    }

    public func attachLines(_ execId: String, sinceSeq: UInt64 = 0) async throws -> NDJSONLineSequence<Body> {
        let response = try await send(.GET, "/execs/\(execId)/attach?sinceSeq=\(sinceSeq)", timeout: .hours(24))
        return try await lines(response)
    }

    public func cancel(_ execId: String) async throws -> CancelResponse {
        try await json(.POST, "/execs/\(execId)/cancel")
    }

    public func stdin(_ execId: String, _ request: StdinRequest) async throws -> StdinResponse {
        try await json(.POST, "/execs/\(execId)/stdin", body: request)
    }

    /// `GET /execs/{id}`; a `gone` status comes with 404.
    public func status(_ execId: String) async throws -> ExecStatus {
        let (status, bytes) = try await call(.GET, "/execs/\(execId)")
        guard status == 200 || status == 404 else { throw RunnerdClientError.status(status, body: String(decoding: bytes, as: UTF8.self)) }
        return try WireJSON.decode(ExecStatus.self, from: bytes)
    }

    public func env(_ patch: EnvPatch) async throws -> EnvResponse {
        try await json(.POST, "/env", body: patch)
    }

    private func lines(_ response: HTTPClientResponse) async throws -> NDJSONLineSequence<Body> {
        guard response.status == .ok else {
            let bytes = try await response.body.collect(upTo: 1 << 20)
            throw RunnerdClientError.status(Int(response.status.code), body: String(buffer: bytes))
        }
        return NDJSONLineSequence(body: response.body)
    }
}
