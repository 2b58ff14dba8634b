import CoreMetrics
import Prometheus
import RunnerProtocol
import Synchronization

/// The spawner's metrics, in a Prometheus registry of its own (no global bootstrap, so any
/// number of apps can live in one process): sessions by state and backend, creates, destroys
/// and create failures, proxied bytes, sweeps, and HTTP latency.
public final class SpawnerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    private let backend: String
    private let sessionGauges: [SessionState: CoreMetrics.Gauge]
    private let creates: CoreMetrics.Counter
    private let capRejections: CoreMetrics.Counter
    private let proxyToClient: CoreMetrics.Counter
    private let proxyToRunnerd: CoreMetrics.Counter
    private let timers = Mutex<[String: CoreMetrics.Timer]>([:])
    private let openConnections: CoreMetrics.Gauge
    private let foreignSandboxes: CoreMetrics.Gauge
    private let shedConnections: [ShedReason: CoreMetrics.Counter]
    private let sweeps: CoreMetrics.Counter

    public init(backend: String, registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets["spawner_http_request_duration_seconds"] = [
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
        ]
        self.factory = factory
        self.backend = backend
        var gauges: [SessionState: CoreMetrics.Gauge] = [:]
        for state in SessionState.allCases where state != .gone {
            gauges[state] = CoreMetrics.Gauge(label: "spawner_sessions", dimensions: [("state", state.rawValue), ("backend", backend)], factory: factory)
        }
        sessionGauges = gauges
        creates = CoreMetrics.Counter(label: "spawner_session_creates_total", dimensions: [("backend", backend)], factory: factory)
        capRejections = CoreMetrics.Counter(label: "spawner_session_cap_rejections_total", dimensions: [("backend", backend)], factory: factory)
        proxyToClient = CoreMetrics.Counter(label: "spawner_proxy_bytes_total", dimensions: [("direction", "to_client")], factory: factory)
        proxyToRunnerd = CoreMetrics.Counter(label: "spawner_proxy_bytes_total", dimensions: [("direction", "to_runnerd")], factory: factory)
        openConnections = CoreMetrics.Gauge(label: "spawner_open_connections", factory: factory)
        foreignSandboxes = CoreMetrics.Gauge(label: "spawner_foreign_sandboxes", dimensions: [("backend", backend)], factory: factory)
        var shed: [ShedReason: CoreMetrics.Counter] = [:]
        for reason in [ShedReason.evicted, .refused] {
            shed[reason] = CoreMetrics.Counter(label: "spawner_connections_shed_total", dimensions: [("reason", reason.rawValue)], factory: factory)
        }
        shedConnections = shed
        sweeps = CoreMetrics.Counter(label: "spawner_sweeps_total", factory: factory)
    }

    /// Why the connection cap closed a connection.
    enum ShedReason: String {
        /// The longest-idle connection, closed to make room for a new one.
        case evicted
        /// A new connection, closed because every connection was busy.
        case refused
    }

    func setOpenConnections(_ count: Int) { openConnections.record(count) }

    /// Sandboxes with the spawner's labels that did not prove their session's token.
    func setForeignSandboxes(_ count: Int) { foreignSandboxes.record(count) }

    func connectionShed(_ reason: ShedReason) { shedConnections[reason]?.increment() }

    /// Sets the session gauges from a count per state.
    func setSessions(_ counts: [SessionState: Int]) {
        for (state, gauge) in sessionGauges { gauge.record(counts[state] ?? 0) }
    }

    func sessionCreated() { creates.increment() }

    func capRejected() { capRejections.increment() }

    func createFailed(at step: CreateStep) {
        CoreMetrics.Counter(label: "spawner_session_create_failures_total", dimensions: [("backend", backend), ("step", step.rawValue)], factory: factory)
            .increment()
    }

    func sessionDestroyed(_ reason: DestroyReason) {
        CoreMetrics.Counter(label: "spawner_session_destroys_total", dimensions: [("backend", backend), ("reason", reason.rawValue)], factory: factory)
            .increment()
    }

    /// A pass of the sweeper has checked every session.
    func sweepCompleted() { sweeps.increment() }

    func proxied(toClient bytes: Int) { proxyToClient.increment(by: bytes) }

    func proxied(toRunnerd bytes: Int) { proxyToRunnerd.increment(by: bytes) }

    /// Records one request's time to its response head.
    func observeRequest(route: String, method: String, status: Int, duration: Duration) {
        let key = "\(method) \(route) \(status)"
        let timer = timers.withLock { timers in
            if let timer = timers[key] { return timer }
            let timer = CoreMetrics.Timer(
                label: "spawner_http_request_duration_seconds",
                dimensions: [("route", route), ("method", method), ("status", String(status))], factory: factory)
            timers[key] = timer
            return timer
        }
        timer.recordNanoseconds(duration.nanoseconds)
    }

    /// The Prometheus text exposition.
    public func exposition() -> [UInt8] { registry.emitToBuffer() }
}

/// Why a session was destroyed.
public enum DestroyReason: String, Sendable {
    /// `DELETE /v1/sessions/{sid}`.
    case requested
    /// Past its `ttlMs`.
    case ttl
    /// Idle past `idleTimeoutMs` with no running exec.
    case idle
    /// Its sandbox died.
    case dead
    /// Found at boot but its runnerd did not answer with the session token.
    case unreachable
    /// A create failed half-way.
    case createFailed = "create_failed"
}
