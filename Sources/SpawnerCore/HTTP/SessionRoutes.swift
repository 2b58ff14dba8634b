import Hummingbird
import RunnerProtocol

/// Sessions CRUD: `POST/GET /v1/sessions`, `GET/DELETE /v1/sessions/{sid}`; and
/// `GET /v1/foreign-sandboxes`, the sandboxes found at boot that did not prove their token.
struct SessionRoutes {
    let registry: SessionRegistry

    func register(on group: RouterGroup<SpawnerRequestContext>) {
        group.post("/sessions") { _, context in
            let request: CreateSessionRequest
            switch WireJSON.decodeRequest(CreateSessionRequest.self, from: context.body) {
            case .success(let decoded): request = decoded
            case .failure(let error): throw SpawnerError.badRequest(error.message)
            }
            return WireResponse(status: .created, value: try await registry.create(request))
        }
        group.get("/sessions") { request, _ in
            let orgId = request.uri.queryParameters["orgId"].map(String.init)
            return WireResponse(value: SessionList(sessions: await registry.list(orgId: orgId)))
        }
        group.get("/foreign-sandboxes") { _, _ in
            WireResponse(value: ForeignSandboxList(sandboxes: await registry.foreignSandboxes))
        }
        group.get("/sessions/:sid") { _, context in
            WireResponse(value: try await registry.info(try context.sessionId()))
        }
        group.delete("/sessions/:sid") { _, context in
            await registry.destroy(try context.sessionId(), reason: .requested)
            return Response(status: .noContent)
        }
    }
}
