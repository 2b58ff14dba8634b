import AsyncHTTPClient
import NIOCore
import RunnerProtocol

/// A session's terminals, signals, processes and file watch (contract §3).
extension SpawnerClient {
    public func resize(_ sessionId: String, _ execId: String, _ size: TerminalSize) async throws -> OKResponse {
        try await json(.POST, "/v1/sessions/\(sessionId)/execs/\(execId)/resize", body: size)
    }

    /// A signal to an exec's process group.
    public func signal(_ sessionId: String, _ execId: String, _ signal: String) async throws -> SignalResponse {
        try await json(.POST, "/v1/sessions/\(sessionId)/execs/\(execId)/signal", body: SignalRequest(signal: signal))
    }

    public func processes(_ sessionId: String) async throws -> ProcessList {
        try await json(.GET, "/v1/sessions/\(sessionId)/processes")
    }

    /// A signal to one of the session's processes.
    public func signalProcess(_ sessionId: String, _ pid: Int32, _ signal: String) async throws -> SignalResponse {
        try await json(.POST, "/v1/sessions/\(sessionId)/processes/\(pid)/signal", body: SignalRequest(signal: signal))
    }

    /// The path and query of a watch.
    public static func watchPath(_ sessionId: String, path: String, recursive: Bool) -> String {
        "/v1/sessions/\(sessionId)/fs/watch?path=\(encodeQueryValue(path))&recursive=\(recursive)"
    }

    /// A file watch: its events, live, until the client stops or the watched directory goes.
    public func watch(_ sessionId: String, path: String = "", recursive: Bool = true) async throws -> FsWatchStream {
        let response = try await send(.GET, Self.watchPath(sessionId, path: path, recursive: recursive), timeout: .hours(24))
        guard response.status == .ok else {
            let bytes = try await response.body.collect(upTo: 1 << 20)
            throw Self.statusError(Int(response.status.code), Array(bytes.readableBytesView))
        }
        return FsWatchStream(base: SSEMessageSequence(response.body)) { try WireJSON.decode(FsWatchEvent.self, from: $0.data) }
    }

    /// The URL of the web terminal page for a session, pre-signed now (it must be opened
    /// within the signature's 5 minutes; the page's WebSocket carries the signature).
    public func terminalPageURL(_ sessionId: String) -> String {
        let signed = signer.presign(pathWithQuery: "/v1/sessions/\(sessionId)/terminal", nowMs: now())
        let query = signed[signed.index(after: signed.firstIndex(of: "?")!)...]
        return baseURL + "/ui/terminal?session=\(Self.encodeQueryValue(sessionId))&" + query
    }

    /// A terminal WebSocket's path and query, signed by headers (`terminalHeaders`).
    public static func terminalPath(_ sessionId: String, size: TerminalSize?, execId: String? = nil, sinceSeq: UInt64? = nil) -> String {
        var items: [String] = []
        if let size { items += ["cols=\(size.cols)", "rows=\(size.rows)"] }
        if let execId { items.append("execId=\(encodeQueryValue(execId))") }
        if let sinceSeq { items.append("sinceSeq=\(sinceSeq)") }
        return "/v1/sessions/\(sessionId)/terminal" + (items.isEmpty ? "" : "?" + items.joined(separator: "&"))
    }

    /// The signature headers of a terminal upgrade (a GET of `pathWithQuery`).
    public func terminalHeaders(_ pathWithQuery: String) -> [(String, String)] {
        signer.headers(method: "GET", pathWithQuery: pathWithQuery, body: [UInt8](), nowMs: now())
    }
}

/// A watch's SSE messages as events.
public typealias FsWatchStream = DecodedSequence<SSEMessageSequence<HTTPClientResponse.Body>, FsWatchEvent>
