import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import RunnerProtocol
import SpawnerCore

/// An engine answer that is not the expected one, or an engine that cannot be used.
struct DockerEngineError: Error, CustomStringConvertible, Sendable {
    /// The HTTP status; 0 when the engine did not answer at all.
    var status: Int
    var message: String

    var description: String { status == 0 ? "docker engine: \(message)" : "docker engine \(status): \(message)" }
    var isNotFound: Bool { status == 404 }
    var isConflict: Bool { status == 409 }
}

/// The Docker Engine API on its Unix socket, over async-http-client: JSON in, typed answers
/// out, every path under the negotiated API version. Nothing here runs the `docker` CLI.
struct DockerEngine: Sendable {
    /// The oldest API this client speaks (engine 20.10) and the newest it knows; an engine
    /// answering more is spoken to at this version.
    static let minimumAPI = APIVersion(1, 41)
    static let preferredAPI = APIVersion(1, 41)

    let socketPath: String
    let httpClient: HTTPClient
    let api: APIVersion

    init(socketPath: String, httpClient: HTTPClient, api: APIVersion = DockerEngine.preferredAPI) {
        self.socketPath = socketPath
        self.httpClient = httpClient
        self.api = api
    }

    /// `MAJOR.MINOR`, ordered.
    struct APIVersion: Comparable, CustomStringConvertible, Sendable {
        var major: Int
        var minor: Int
        init(_ major: Int, _ minor: Int) {
            self.major = major
            self.minor = minor
        }
        init?(_ text: String) {
            let parts = text.split(separator: ".")
            guard parts.count == 2, let major = Int(parts[0]), let minor = Int(parts[1]) else { return nil }
            self.init(major, minor)
        }
        var description: String { "\(major).\(minor)" }
        static func < (a: APIVersion, b: APIVersion) -> Bool { (a.major, a.minor) < (b.major, b.minor) }
    }

    /// Asks the engine which API it speaks (`/_ping`, then `/version`) and returns a client at
    /// the newest version both sides know, with the engine's version for the logs. Throws when
    /// the engine does not answer or is older than 20.10.
    func negotiated(timeout: TimeAmount = .seconds(10)) async throws -> (engine: DockerEngine, version: String) {
        let ping = try await call(.GET, "/_ping", versioned: false, timeout: timeout)
        guard ping.status == 200 else { throw DockerEngineError(status: ping.status, message: "/_ping: \(Self.message(ping.body))") }
        guard let header = ping.headers.first(name: "api-version"), let engineAPI = APIVersion(header) else {
            throw DockerEngineError(status: 0, message: "/_ping did not say which API version the engine speaks")
        }
        guard engineAPI >= Self.minimumAPI else {
            throw DockerEngineError(status: 0, message: "the engine speaks API \(engineAPI); the docker backend needs \(Self.minimumAPI) or later (Docker 20.10+)")
        }
        let engine = DockerEngine(socketPath: socketPath, httpClient: httpClient, api: min(engineAPI, Self.preferredAPI))
        let version = try await engine.json(.GET, "/version", as: DockerModels.Version.self, timeout: timeout)
        if let oldest = version.minAPIVersion.flatMap(APIVersion.init), oldest > engine.api {
            throw DockerEngineError(status: 0, message: "engine \(version.version) no longer speaks API \(engine.api) (oldest: \(oldest))")
        }
        return (engine, version.version)
    }

    // MARK: Requests

    /// One request; the whole answer (at most `limit` bytes).
    func call(
        _ method: HTTPMethod, _ path: String, query: [(String, String)] = [], versioned: Bool = true, body: [UInt8]? = nil,
        contentType: String = "application/json", timeout: TimeAmount = .seconds(60), limit: Int = 8 << 20
    ) async throws -> (status: Int, headers: HTTPHeaders, body: [UInt8]) {
        var request = HTTPClientRequest(url: url(path, query: query, versioned: versioned))
        request.method = method
        // HTTP/1.1 needs one, and a socket has no host name; the engine ignores its value.
        request.headers.replaceOrAdd(name: "host", value: "docker")
        if let body {
            request.headers.add(name: "content-type", value: contentType)
            request.body = .bytes(body)
        }
        let response: HTTPClientResponse
        do {
            response = try await httpClient.execute(request, timeout: timeout)
        } catch {
            throw DockerEngineError(status: 0, message: "\(method) \(path): \(error) (socket \(socketPath))")
        }
        let bytes = try await response.body.collect(upTo: limit)
        return (Int(response.status.code), response.headers, Array(bytes.readableBytesView))
    }

    /// A JSON request that must answer 2xx; the answer decoded as `T`.
    func json<T: Decodable>(
        _ method: HTTPMethod, _ path: String, query: [(String, String)] = [], body: (some Encodable)? = Optional<DockerModels.EndpointConfig>.none,
        as type: T.Type = T.self, timeout: TimeAmount = .seconds(60)
    ) async throws -> T {
        let answer = try await send(method, path, query: query, body: body, timeout: timeout)
        do {
            return try WireJSON.decode(T.self, from: answer)
        } catch {
            throw DockerEngineError(status: 0, message: "\(method) \(path): unexpected answer: \(error)")
        }
    }

    /// A request that must answer 2xx; the answer's body.
    @discardableResult
    func send(
        _ method: HTTPMethod, _ path: String, query: [(String, String)] = [], body: (some Encodable)? = Optional<DockerModels.EndpointConfig>.none,
        timeout: TimeAmount = .seconds(60)
    ) async throws -> [UInt8] {
        let encoded = try body.map { try WireJSON.encode($0) }
        let answer = try await call(method, path, query: query, body: encoded, timeout: timeout)
        guard (200..<300).contains(answer.status) else {
            throw DockerEngineError(status: answer.status, message: "\(method) \(path): \(Self.message(answer.body))")
        }
        return answer.body
    }

    /// The `http+unix` URL of `path` on the socket.
    func url(_ path: String, query: [(String, String)] = [], versioned: Bool = true) -> String {
        var url = "http+unix://" + PercentEncoding.queryValue(socketPath) + (versioned ? "/v\(api)" : "") + path
        if !query.isEmpty {
            url += "?" + query.map { PercentEncoding.queryValue($0.0) + "=" + PercentEncoding.queryValue($0.1) }.joined(separator: "&")
        }
        return url
    }

    /// `{"label": ["k=v", ...]}` as the engine's `filters` query value.
    static func labelFilter(_ labels: [String: String]) -> String {
        let terms = labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        return String(decoding: (try? WireJSON.encode(["label": terms])) ?? [], as: UTF8.self)
    }

    /// The engine's `{"message": ...}`, or the body as text.
    static func message(_ body: [UInt8]) -> String {
        if let decoded = try? WireJSON.decode(DockerModels.ErrorMessage.self, from: body) { return decoded.message }
        return String(decoding: body.prefix(500), as: UTF8.self)
    }
}
