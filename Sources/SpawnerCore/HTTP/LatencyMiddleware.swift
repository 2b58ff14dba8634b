import Hummingbird

/// Records every request's time to its response head (an exec stream is then as fast as its
/// first byte, not as long as its command) in `spawner_http_request_duration_seconds`.
struct LatencyMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: SpawnerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let response = try await next(request, context)
        metrics.observeRequest(
            route: context.endpointPath ?? "unmatched", method: request.method.rawValue, status: response.status.code,
            duration: ContinuousClock.now - started)
        return response
    }
}
