import Hummingbird

/// Records every request's time to its response head (an exec stream is then as fast as its
/// first byte, not as long as its command) in `spawner_http_request_duration_seconds`. Labels
/// take bounded values only: the route pattern (`unmatched` when none), a known method, the status.
struct LatencyMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: SpawnerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let response = try await next(request, context)
        metrics.observeRequest(
            route: context.endpointPath ?? "unmatched", method: Self.methodLabel(request.method), status: response.status.code,
            duration: ContinuousClock.now - started)
        return response
    }

    /// The method as a label: one of the few methods HTTP defines, else `other` — a client's
    /// made-up method must not create a metric series of its own.
    static func methodLabel(_ method: HTTPRequest.Method) -> String {
        switch method {
        case .get, .head, .post, .put, .delete, .patch, .options, .connect, .trace: method.rawValue
        default: "other"
        }
    }
}
