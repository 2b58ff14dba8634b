import Hummingbird
import NIOCore
import NIOHTTP1
import RunnerProtocol
import RunnerdClient

/// A session's terminals, signals, processes and file watch (contract §3), proxied to its
/// runnerd: resize and signal of an exec, the process table and signals to processes as they
/// are, the watch stream as Server-Sent Events (`event: fs`, `id:` = seq).
struct InteractiveRoutes {
    let forwarder: RunnerdForwarder

    func register(on group: RouterGroup<SpawnerRequestContext>) {
        group.post("/sessions/:sid/execs/:eid/resize") { _, context in
            try await forwarder.forward(try context.sessionId(), .POST, "/execs/\(try context.execId())/resize", body: context.body, timeout: .quick)
        }
        group.post("/sessions/:sid/execs/:eid/signal") { _, context in
            try await forwarder.forward(try context.sessionId(), .POST, "/execs/\(try context.execId())/signal", body: context.body, timeout: .quick)
        }
        group.get("/sessions/:sid/processes") { _, context in
            try await forwarder.forward(try context.sessionId(), .GET, "/processes", body: [], timeout: .standard)
        }
        group.post("/sessions/:sid/processes/:pid/signal") { _, context in
            guard let pid = context.parameters.get("pid").flatMap(Int32.init), pid > 0 else {
                throw SpawnerError.badRequest("pid must be a positive integer")
            }
            return try await forwarder.forward(try context.sessionId(), .POST, "/processes/\(pid)/signal", body: context.body, timeout: .quick)
        }
        group.get("/sessions/:sid/fs/watch") { request, context in
            let query = try request.forwardedQuery()
            return try await forwarder.eventStream(try context.sessionId(), .GET, "/fs/watch" + query, body: nil, context: context, eventName: "fs")
        }
    }
}
