import AsyncHTTPClient
import NIOCore
import RunnerProtocol

/// What a proxy in front of runnerd (the spawner) needs beyond the typed calls: streams whose
/// request body is forwarded as received, and whose non-200 answers are handed back as they are.
extension RunnerdClient {
    /// How long an exec or attach stream may stay open.
    public static let streamTimeout: TimeAmount = .hours(24)

    /// `POST /execs` with `body` sent verbatim; the answer with its body unread.
    public func startExec(rawBody body: [UInt8]) async throws -> HTTPClientResponse {
        try await send(.POST, "/execs", body: body, timeout: Self.streamTimeout)
    }

    /// `GET /execs/{id}/attach?sinceSeq=N`; the answer with its body unread.
    public func startAttach(_ execId: String, sinceSeq: UInt64) async throws -> HTTPClientResponse {
        try await send(.GET, "/execs/\(execId)/attach?sinceSeq=\(sinceSeq)", timeout: Self.streamTimeout)
    }
}

extension NDJSONLineSequence {
    /// The lines of an NDJSON body, pulled with the body's backpressure.
    public init(body: Base) {
        self.init(base: body)
    }
}
