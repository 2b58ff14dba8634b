import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import RunnerProtocol
import RunnerdClient
import SystemSupport

/// `GET /v1/sessions/{sid}/terminal`: the WebSocket upgrade (signed by the usual headers or
/// pre-signed in the query), and the same path without an upgrade, which answers why it
/// would not upgrade (401, 400, 404) or `426` when it would.
struct TerminalEndpoint: Sendable {
    let registry: SessionRegistry
    let signer: HMACSigner
    let now: @Sendable () -> Int64

    /// A validated terminal request: the session's runnerd and what to bridge to.
    struct Plan: Sendable {
        let runnerd: RunnerdClient
        let target: TerminalBridge.Target
    }

    static let defaultSize = TerminalSize(cols: 80, rows: 24)

    /// The session id when `path` (without its query) is a terminal path.
    static func sessionId(inPath path: Substring) -> Substring? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0].isEmpty, parts[1] == "v1", parts[2] == "sessions", parts[4] == "terminal" else { return nil }
        return parts[3]
    }

    /// Checks the request and finds what it asks for; the error is the answer a plain GET gets.
    func plan(method: HTTPRequest.Method, pathWithQuery: String, headers: HTTPFields) async throws -> Plan {
        let mark = pathWithQuery.firstIndex(of: "?") ?? pathWithQuery.endIndex
        guard let rawSession = Self.sessionId(inPath: pathWithQuery[..<mark]) else { throw SpawnerError.badRequest("not a terminal path") }
        try authenticate(method: method, pathWithQuery: pathWithQuery, headers: headers)
        let sessionId = String(rawSession)
        guard Identifier.isValidSessionID(sessionId) else { throw SpawnerError.badRequest("session id must match [a-z0-9-]{1,63}") }
        let query = mark < pathWithQuery.endIndex ? QueryItems(String(pathWithQuery[pathWithQuery.index(after: mark)...])) : QueryItems("")
        let runnerd = try await registry.runnerd(sessionId)
        if let execId = query["execId"] {
            guard Identifier.isValidExecID(execId) else { throw SpawnerError.badRequest("exec id must match [A-Za-z0-9_-]{1,64}") }
            var sinceSeq: UInt64 = 0
            if let raw = query["sinceSeq"] {
                guard let value = Bounds.sequenceNumber(raw) else { throw SpawnerError.badRequest("sinceSeq must be a non-negative integer") }
                sinceSeq = value
            }
            let status = try await UpstreamFailure.during { try await runnerd.status(execId) }
            guard status.state == .running else { throw SpawnerError(.notFound, "no running exec \(execId)") }
            return Plan(runnerd: runnerd, target: .attach(execId: execId, sinceSeq: sinceSeq))
        }
        var size = Self.defaultSize
        if let cols = query["cols"] {
            guard let value = Int(cols) else { throw SpawnerError.badRequest("cols must be an integer") }
            size.cols = value
        }
        if let rows = query["rows"] {
            guard let value = Int(rows) else { throw SpawnerError.badRequest("rows must be an integer") }
            size.rows = value
        }
        if let message = size.rangeError { throw SpawnerError.badRequest(message) }
        let execId = "term-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        return Plan(runnerd: runnerd, target: .start(TerminalBridge.shellRequest(execId: execId, size: size)))
    }

    /// The signature headers when present, else the pre-signed query (`ts`, `sig`).
    private func authenticate(method: HTTPRequest.Method, pathWithQuery: String, headers: HTTPFields) throws {
        let timestamp = headers[.spawnerTimestamp]
        let signature = headers[.spawnerSignature]
        let verdict: Result<Void, HMACSigner.Rejection>
        if timestamp != nil || signature != nil {
            verdict = signer.verify(
                method: method.rawValue, pathWithQuery: pathWithQuery, timestampHeader: timestamp, signatureHeader: signature,
                body: [UInt8](), nowMs: now())
        } else {
            verdict = signer.verifyPresigned(method: method.rawValue, pathWithQuery: pathWithQuery, nowMs: now())
        }
        if case .failure(let rejection) = verdict { throw SpawnerError.unauthorized(SignatureMiddleware.describe(rejection)) }
    }

    /// The server's upgrade decision: a terminal path whose request checks out is upgraded and
    /// bridged; anything else is left to the router (which answers the plain GET).
    func shouldUpgrade(
        _ request: HTTPRequest, logger: Logger
    ) async -> ShouldUpgradeResult<WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>> {
        guard request.method == .get, let path = request.path,
            Self.sessionId(inPath: path[..<(path.firstIndex(of: "?") ?? path.endIndex)]) != nil,
            let plan = try? await plan(method: request.method, pathWithQuery: path, headers: request.headerFields)
        else { return .dontUpgrade }
        return .upgrade([:]) { inbound, outbound, context in
            let bridge = TerminalBridge(runnerd: plan.runnerd, logger: context.logger)
            do {
                try await bridge.run(plan.target, inbound: inbound, outbound: outbound)
            } catch {
                context.logger.debug("terminal ended", metadata: ["error": "\(error)"])
            }
        }
    }

    /// The plain GET: the error that kept it from upgrading, or `426`.
    func register(on router: Router<SpawnerRequestContext>) {
        router.get("/v1/sessions/:sid/terminal") { request, _ -> Response in
            _ = try await plan(method: request.method, pathWithQuery: request.head.path ?? "", headers: request.headers)
            throw SpawnerError(.upgradeRequired, "this is a WebSocket endpoint")
        }
    }
}

/// A raw query string's items, percent-decoded (the last of a repeated name wins).
struct QueryItems {
    private var items: [String: String] = [:]

    init(_ query: String) {
        for item in query.split(separator: "&") {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0]).removingPercentEncodingLeniently()
            items[name] = parts.count > 1 ? String(parts[1]).removingPercentEncodingLeniently() : ""
        }
    }

    subscript(name: String) -> String? { items[name] }
}

extension String {
    /// `%XX` decoded; anything malformed kept as it is.
    func removingPercentEncodingLeniently() -> String {
        guard utf8.contains(UInt8(ascii: "%")) else { return self }
        var bytes: [UInt8] = []
        var iterator = Array(utf8)[...]
        while let byte = iterator.popFirst() {
            if byte == UInt8(ascii: "%"), iterator.count >= 2, let value = UInt8(String(decoding: iterator.prefix(2), as: UTF8.self), radix: 16) {
                bytes.append(value)
                iterator = iterator.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
