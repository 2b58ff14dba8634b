import Hummingbird
import NIOCore
import NIOHTTP1
import RunnerProtocol

/// Execs of a session: start (SSE), attach (SSE, resumable), and the proxied cancel, stdin
/// and status.
struct ExecRoutes {
    let forwarder: RunnerdForwarder

    func register(on group: RouterGroup<SpawnerRequestContext>) {
        group.post("/sessions/:sid/exec") { _, context in
            try await forwarder.eventStream(try context.sessionId(), .POST, "/execs", body: context.caller?.body ?? ByteBuffer(), context: context)
        }
        group.get("/sessions/:sid/execs/:eid/attach") { request, context in
            let path = "/execs/\(try context.execId())/attach?sinceSeq=\(try Self.resumePoint(request))"
            return try await forwarder.eventStream(try context.sessionId(), .GET, path, body: nil, context: context)
        }
        group.post("/sessions/:sid/execs/:eid/cancel") { _, context in
            try await forwarder.forward(try context.sessionId(), .POST, "/execs/\(try context.execId())/cancel", body: context.body, timeout: .quick)
        }
        group.post("/sessions/:sid/execs/:eid/stdin") { _, context in
            try await forwarder.forward(try context.sessionId(), .POST, "/execs/\(try context.execId())/stdin", body: context.body, timeout: .standard)
        }
        group.get("/sessions/:sid/execs/:eid") { _, context in
            try await forwarder.forward(try context.sessionId(), .GET, "/execs/\(try context.execId())", body: [], timeout: .quick)
        }
    }

    /// The last seq the client has: `Last-Event-ID` (an SSE client's reconnect), else
    /// `?sinceSeq=`, else 0. Any non-negative integer (contract §3): one past `UInt64.max`
    /// means the same as `UInt64.max`, only live events.
    static func resumePoint(_ request: Request) throws(SpawnerError) -> UInt64 {
        if let header = request.headers[.lastEventID] {
            guard let seq = Bounds.sequenceNumber(header.trimmingWhitespace()) else { throw .badRequest("Last-Event-ID must be a non-negative integer") }
            return seq
        }
        if let query = request.uri.queryParameters["sinceSeq"] {
            guard let seq = Bounds.sequenceNumber(query) else { throw .badRequest("sinceSeq must be a non-negative integer") }
            return seq
        }
        return 0
    }
}
