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
    /// The query string exactly as sent (without `?`), for forwarding.
    var rawQuery: Substring? {
        guard let path = head.path, let mark = path.firstIndex(of: "?") else { return nil }
        return path[path.index(after: mark)...]
    }
}
