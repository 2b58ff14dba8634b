import Hummingbird
import RunnerProtocol

extension SpawnerRequestContext {
    /// The `{sid}` of the path, validated (`[a-z0-9-]{1,63}`, else `400`).
    func sessionId() throws(SpawnerError) -> String {
        guard let sessionId = parameters.get("sid"), Identifier.isValidSessionID(sessionId) else {
            throw .badRequest("session id must match [a-z0-9-]{1,63}")
        }
        return sessionId
    }

    /// The `{eid}` of the path, validated (`[A-Za-z0-9_-]{1,64}`, else `400`).
    func execId() throws(SpawnerError) -> String {
        guard let execId = parameters.get("eid"), Identifier.isValidExecID(execId) else {
            throw .badRequest("exec id must match [A-Za-z0-9_-]{1,64}")
        }
        return execId
    }

    /// The verified body (empty when the route had none).
    var body: [UInt8] { caller?.bodyBytes ?? [] }
}

extension Request {
    /// The query string exactly as sent (without `?`).
    var rawQuery: Substring? {
        guard let path = head.path, let mark = path.firstIndex(of: "?") else { return nil }
        return path[path.index(after: mark)...]
    }

    /// The query to forward to runnerd as it was sent: `?…`, or nothing. A query with a byte a
    /// URI cannot carry (a space, a backslash, a control or non-ASCII byte: the spawner's parser
    /// lets them through, an HTTP client refuses to send them) is `400`.
    func forwardedQuery() throws(SpawnerError) -> String {
        guard let query = rawQuery else { return "" }
        guard query.utf8.allSatisfy(Self.isQueryByte) else { throw .badRequest("the query string has characters a URI cannot carry") }
        return "?" + query
    }

    /// RFC 3986 `query`: unreserved, sub-delims, `:`, `@`, `/`, `?`, and `%` of percent-encoding.
    private static func isQueryByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        default: queryPunctuation.contains(byte)
        }
    }

    private static let queryPunctuation = Set("-._~!$&'()*+,;=:@/?%".utf8)
}
