import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import NIOSSL
import RunnerProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A client of the spawner's API (section 2 of the contract): every request is signed with
/// `HMACSigner`, the code the server verifies with. Used by the `spawner` CLI and the tests.
public struct SpawnerClient: Sendable {
    public let baseURL: String
    public let httpClient: HTTPClient
    let signer: HMACSigner
    /// The timestamps requests are signed with: distinct for every request (the spawner
    /// accepts a signature once), process-wide unless a test gives its own clock.
    let clock: SigningClock
    /// For the terminal WebSocket over `https` (the HTTP client has its own).
    public let tlsConfiguration: TLSConfiguration?

    public typealias Body = HTTPClientResponse.Body

    /// `now` (epoch ms) replaces the process's signing clock (tests of skewed clocks).
    /// `tlsConfiguration` is for the terminal's WebSocket; give `httpClient` the same
    /// (`SpawnerClient.makeHTTPClient(tlsConfiguration:)`).
    public init(
        baseURL: String, secret: some Collection<UInt8>, httpClient: HTTPClient = .shared, tlsConfiguration: TLSConfiguration? = nil,
        now: (@Sendable () -> Int64)? = nil
    ) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.signer = HMACSigner(secret: secret)
        self.httpClient = httpClient
        self.tlsConfiguration = tlsConfiguration
        self.clock = now.map { SigningClock(now: $0) } ?? .shared
    }

    public static let epochMs: @Sendable () -> Int64 = SigningClock.epochMs

    // MARK: Raw requests

    /// A signed request; the answer with its body unread. `pathWithQuery` is sent, and signed,
    /// exactly as given (percent-encode query values with `SpawnerClient.encodeQueryValue`).
    /// Signed here, once per call, with a timestamp of its own and the body's hash on the head;
    /// async-http-client writes a request at most once (it retries only establishing a
    /// connection, before a byte is sent), so no signature is ever sent twice.
    public func send(
        _ method: HTTPMethod, _ pathWithQuery: String, body: [UInt8] = [], headers: [(String, String)] = [],
        timeout: TimeAmount = .seconds(120)
    ) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: baseURL + pathWithQuery)
        request.method = method
        for (name, value) in signer.headers(method: method.rawValue, pathWithQuery: pathWithQuery, body: body, nowMs: clock.next()) {
            request.headers.add(name: name, value: value)
        }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if !body.isEmpty {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(body)
        }
        return try await httpClient.execute(request, timeout: timeout)
    }

    /// A signed request whose whole answer is read: status, content type and body.
    public func call(
        _ method: HTTPMethod, _ pathWithQuery: String, body: [UInt8] = [], limit: Int = 64 << 20
    ) async throws -> (status: Int, contentType: String?, body: [UInt8]) {
        let response = try await send(method, pathWithQuery, body: body)
        let bytes = try await response.body.collect(upTo: limit)
        return (Int(response.status.code), response.headers.first(name: "content-type"), Array(bytes.readableBytesView))
    }

    /// A JSON call that must answer `expect`; its answer decoded.
    public func json<T: Decodable>(
        _ method: HTTPMethod, _ pathWithQuery: String, body: (some Encodable)? = Optional<EnvPatch>.none, expect: Int = 200,
        as type: T.Type = T.self
    ) async throws -> T {
        let (status, _, bytes) = try await call(method, pathWithQuery, body: try body.map { try WireJSON.encode($0) } ?? [])
        guard status == expect else { throw Self.statusError(status, bytes) }
        return try WireJSON.decode(T.self, from: bytes)
    }

    static func statusError(_ status: Int, _ bytes: [UInt8]) -> SpawnerClientError {
        let body = (try? WireJSON.decode(ErrorBody.self, from: bytes)) ?? ErrorBody(error: "http_\(status)", message: String(decoding: bytes.prefix(500), as: UTF8.self))
        return .status(status, body)
    }

    // MARK: Sessions

    public func createSession(_ request: CreateSessionRequest) async throws -> SessionInfo {
        try await json(.POST, "/v1/sessions", body: request, expect: 201)
    }

    public func listSessions(orgId: String? = nil) async throws -> [SessionInfo] {
        let query = orgId.map { "?orgId=" + Self.encodeQueryValue($0) } ?? ""
        let list: SessionList = try await json(.GET, "/v1/sessions" + query)
        return list.sessions
    }

    public func session(_ sessionId: String) async throws -> SessionInfo {
        try await json(.GET, "/v1/sessions/\(sessionId)")
    }

    /// `DELETE`: succeeds for a session that is already gone.
    public func deleteSession(_ sessionId: String) async throws {
        let (status, _, bytes) = try await call(.DELETE, "/v1/sessions/\(sessionId)")
        guard status == 204 else { throw Self.statusError(status, bytes) }
    }

    // MARK: Execs

    /// Starts an exec; its events as they happen.
    public func exec(_ sessionId: String, _ request: ExecRequest) async throws -> ExecEventStream {
        let response = try await send(.POST, "/v1/sessions/\(sessionId)/exec", body: try WireJSON.encode(request), timeout: .hours(24))
        return try await eventStream(response)
    }

    /// Re-attaches to an exec: the events after `lastEventId` (sent as `Last-Event-ID`).
    public func attach(_ sessionId: String, _ execId: String, lastEventId: UInt64 = 0) async throws -> ExecEventStream {
        let response = try await send(
            .GET, "/v1/sessions/\(sessionId)/execs/\(execId)/attach", headers: [("Last-Event-ID", String(lastEventId))], timeout: .hours(24))
        return try await eventStream(response)
    }

    public func cancel(_ sessionId: String, _ execId: String) async throws -> CancelResponse {
        try await json(.POST, "/v1/sessions/\(sessionId)/execs/\(execId)/cancel")
    }

    public func stdin(_ sessionId: String, _ execId: String, _ request: StdinRequest) async throws -> StdinResponse {
        try await json(.POST, "/v1/sessions/\(sessionId)/execs/\(execId)/stdin", body: request)
    }

    /// `GET .../execs/{eid}`: a `gone` exec comes back as such, not as an error.
    public func execStatus(_ sessionId: String, _ execId: String) async throws -> ExecStatus {
        let (status, _, bytes) = try await call(.GET, "/v1/sessions/\(sessionId)/execs/\(execId)")
        guard status == 200 || status == 404, let decoded = try? WireJSON.decode(ExecStatus.self, from: bytes) else {
            throw Self.statusError(status, bytes)
        }
        return decoded
    }

    /// Sets and unsets entries of the session's env store.
    public func env(_ sessionId: String, _ patch: EnvPatch) async throws -> EnvResponse {
        try await json(.POST, "/v1/sessions/\(sessionId)/env", body: patch)
    }

    private func eventStream(_ response: HTTPClientResponse) async throws -> ExecEventStream {
        guard response.status == .ok else {
            let bytes = try await response.body.collect(upTo: 1 << 20)
            throw Self.statusError(Int(response.status.code), Array(bytes.readableBytesView))
        }
        return ExecEventStream(messages: SSEMessageSequence(response.body))
    }

    // MARK: Helpers

    /// Percent-encodes a query value (everything but unreserved characters).
    public static func encodeQueryValue(_ value: String) -> String { PercentEncoding.queryValue(value) }
}
