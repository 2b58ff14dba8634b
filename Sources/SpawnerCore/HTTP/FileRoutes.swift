import HTTPTypes
import Hummingbird
import NIOHTTP1

/// The session env store and files, proxied to runnerd as they are: method, query, body,
/// and runnerd's status, content type and body.
struct FileRoutes {
    let forwarder: RunnerdForwarder

    func register(on group: RouterGroup<SpawnerRequestContext>) {
        for (method, path, timeout) in Self.routes {
            group.on(RouterPath("/sessions/:sid" + path), method: method) { request, context in
                let query = try request.forwardedQuery()
                return try await forwarder.forward(
                    try context.sessionId(), HTTPMethod(rawValue: method.rawValue), path + query, body: context.body, timeout: timeout)
            }
        }
    }

    /// Same path on both sides.
    static let routes: [(HTTPRequest.Method, String, ProxyTimeout)] = [
        (.post, "/env", .standard), (.post, "/files/stage", .staging), (.post, "/files/delete", .transfer),
        (.get, "/fs/list", .standard), (.get, "/fs/read", .transfer),
    ]
}
