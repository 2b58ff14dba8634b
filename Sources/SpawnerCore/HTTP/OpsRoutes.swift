import Hummingbird
import RunnerProtocol

/// `GET /healthz` and `GET /metrics`: open, for load balancers and Prometheus.
struct OpsRoutes {
    let registry: SessionRegistry
    let metrics: SpawnerMetrics
    let version: String

    func register(on router: Router<SpawnerRequestContext>) {
        router.get("/healthz") { _, _ in
            WireResponse(value: SpawnerHealth(ok: true, version: version, backend: registry.backend.name, sessions: await registry.count))
        }
        router.get("/metrics") { _, _ in
            let bytes = metrics.exposition()
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
        }
    }
}
