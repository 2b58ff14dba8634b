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
            try await forwarder.forward(try context.sessionId(), .POST, "/execs/\(try context.execId())/resize", body: context.body)
        }
        group.post("/sessions/:sid/execs/:eid/signal") { _, context in
            try await forwarder.forward(try context.sessionId(), .POST, "/execs/\(try context.execId())/signal", body: context.body)
        }
        group.get("/sessions/:sid/processes") { _, context in
            try await forwarder.forward(try context.sessionId(), .GET, "/processes", body: [])
        }
        group.post("/sessions/:sid/processes/:pid/signal") { _, context in
            guard let pid = context.parameters.get("pid").flatMap(Int32.init), pid > 0 else {
                throw SpawnerError.badRequest("pid must be a positive integer")
            }
            return try await forwarder.forward(try context.sessionId(), .POST, "/processes/\(pid)/signal", body: context.body)
        }
        group.get("/sessions/:sid/fs/watch") { request, context in
            let sessionId = try context.sessionId()
            let runnerd = try await forwarder.registry.runnerd(sessionId)
            let query = request.rawQuery.map { "?" + $0 } ?? ""
            let upstream = try await runnerd.send(.GET, "/fs/watch" + query, timeout: RunnerdClient.streamTimeout)
            return forwarder.watchStream(upstream, sessionId: sessionId, logger: context.logger)
        }
    }
}
