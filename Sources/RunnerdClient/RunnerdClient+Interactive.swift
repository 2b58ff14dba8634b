import AsyncHTTPClient
import NIOCore
import RunnerProtocol

/// The v1.1 interactive endpoints (contract §3): terminal resize, signals, the process table
/// and file watch.
extension RunnerdClient {
    /// `POST /execs/{id}/resize`.
    public func resize(_ execId: String, _ size: TerminalSize) async throws -> OKResponse {
        try await json(.POST, "/execs/\(execId)/resize", body: size)
    }

    /// `POST /execs/{id}/signal`: to the exec's process group.
    public func signal(_ execId: String, _ signal: String) async throws -> SignalResponse {
        try await json(.POST, "/execs/\(execId)/signal", body: SignalRequest(signal: signal))
    }

    /// `GET /processes`.
    public func processes() async throws -> ProcessList {
        try await json(.GET, "/processes")
    }

    /// `POST /processes/{pid}/signal`.
    public func signalProcess(_ pid: Int32, _ signal: String) async throws -> SignalResponse {
        try await json(.POST, "/processes/\(pid)/signal", body: SignalRequest(signal: signal))
    }

    /// The path and query of `GET /fs/watch`.
    public static func watchPath(_ path: String, recursive: Bool) -> String {
        "/fs/watch?path=\(QueryEncoding.encode(path))&recursive=\(recursive)"
    }

    /// `GET /fs/watch`; the answer with its body unread (a proxy relays a non-200 as it is).
    public func startWatch(_ path: String, recursive: Bool) async throws -> HTTPClientResponse {
        try await send(.GET, Self.watchPath(path, recursive: recursive), timeout: Self.streamTimeout)
    }

    /// `GET /fs/watch` as decoded events, until the stream ends.
    public func watch(_ path: String, recursive: Bool) async throws -> FsWatchEventSequence<Body> {
        let response = try await startWatch(path, recursive: recursive)
        guard response.status == .ok else {
            let bytes = try await response.body.collect(upTo: 1 << 20)
            throw RunnerdClientError.status(Int(response.status.code), body: String(buffer: bytes))
        }
        return FsWatchEventSequence(base: NDJSONLineSequence(body: response.body)) { try WireJSON.decode(FsWatchEvent.self, from: $0.readableBytesView) }
    }
}

/// A watch's events, decoded.
public typealias FsWatchEventSequence<Base: AsyncSequence & Sendable> = DecodedSequence<NDJSONLineSequence<Base>, FsWatchEvent> where Base.Element == ByteBuffer

/// Percent-encoding of a query value (RFC 3986 unreserved characters stay as they are).
public enum QueryEncoding {
    public static func encode(_ value: String) -> String {
        var result = ""
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "/"):
                result.unicodeScalars.append(UnicodeScalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                result += "%" + String(UnicodeScalar(hex[Int(byte >> 4)])) + String(UnicodeScalar(hex[Int(byte & 15)]))
            }
        }
        return result
    }
}
