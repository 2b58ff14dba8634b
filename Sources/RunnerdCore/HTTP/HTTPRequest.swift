import NIOCore
import NIOHTTP1

/// A request: its head (parsed when it arrives, before any of the body) plus the (size-capped)
/// body once received.
public struct HTTPRequest {
    public let head: HTTPRequestHead
    public var body: ByteBuffer
    public let path: String
    public let query: [String: String]

    init(head: HTTPRequestHead, body: ByteBuffer = ByteBuffer()) {
        self.head = head
        self.body = body
        let uri = head.uri
        if let question = uri.firstIndex(of: "?") {
            path = String(uri[..<question])
            query = QueryString.parse(String(uri[uri.index(after: question)...]))
        } else {
            path = uri
            query = [:]
        }
    }

    public var method: HTTPMethod { head.method }

    /// Path components, percent-decoded (`/execs/x/attach` → `["execs","x","attach"]`).
    public var segments: [String] {
        path.split(separator: "/", omittingEmptySubsequences: true).map { QueryString.percentDecode(String($0)) }
    }

    /// The route this request is for.
    var route: RunnerdRoute { RunnerdRoute(method: method, segments: segments) }

    public var bodyBytes: ByteBufferView { body.readableBytesView }
}

/// `application/x-www-form-urlencoded`-style query parsing (last value of a name wins).
public enum QueryString {
    public static func parse(_ query: String) -> [String: String] {
        var result: [String: String] = [:]
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = percentDecode(String(parts[0]).replacingPlus())
            let value = parts.count > 1 ? percentDecode(String(parts[1]).replacingPlus()) : ""
            result[name] = value
        }
        return result
    }

    /// Decodes `%XX` escapes; a `%` not followed by two hex digits is kept as it is.
    public static func percentDecode(_ string: String) -> String {
        guard string.utf8.contains(UInt8(ascii: "%")) else { return string }
        let input = Array(string.utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(input.count)
        var index = 0
        while index < input.count {
            if input[index] == UInt8(ascii: "%"), index + 2 < input.count,
                let high = hexValue(input[index + 1]), let low = hexValue(input[index + 2])
            {
                bytes.append(high << 4 | low)
                index += 3
            } else {
                bytes.append(input[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension String {
    fileprivate func replacingPlus() -> String {
        String(decoding: utf8.map { $0 == UInt8(ascii: "+") ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
    }
}
