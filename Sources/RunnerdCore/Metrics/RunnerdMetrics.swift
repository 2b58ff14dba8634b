import CoreMetrics
import Prometheus
import RunnerProtocol

/// runnerd's metrics: swift-metrics instruments backed by a swift-prometheus registry, which
/// `GET /metrics` renders in the Prometheus text format.
///
/// Instruments are created once and cached: the exec stream path only does atomic adds.
public final class RunnerdMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory

    private let started: CoreMetrics.Counter
    private let liveExecs: CoreMetrics.Gauge
    private let stdoutBytes: CoreMetrics.Counter
    private let stderrBytes: CoreMetrics.Counter
    private let consumersDropped: CoreMetrics.Counter
    private let gapsServed: CoreMetrics.Counter
    private let openConnections: CoreMetrics.Gauge
    private let connectionsRefused: CoreMetrics.Counter
    private let connectionsEvicted: CoreMetrics.Counter
    private let connectionsIdleClosed: CoreMetrics.Counter
    private let failedByCode: [ExecFailCode: CoreMetrics.Counter]
    private let exitedByOutcome: [ExitOutcome: CoreMetrics.Counter]

    /// How an exec ended, for `runnerd_execs_exited_total{outcome}`.
    public enum ExitOutcome: String, CaseIterable, Sendable {
        case success, failure, signal, timeout, cancelled, lost
    }

    public init() {
        registry = PrometheusCollectorRegistry()
        factory = PrometheusMetricsFactory(registry: registry)
        started = CoreMetrics.Counter(label: "runnerd_execs_started_total", factory: factory)
        liveExecs = CoreMetrics.Gauge(label: "runnerd_live_execs", factory: factory)
        stdoutBytes = CoreMetrics.Counter(label: "runnerd_output_bytes_total", dimensions: [("stream", "stdout")], factory: factory)
        stderrBytes = CoreMetrics.Counter(label: "runnerd_output_bytes_total", dimensions: [("stream", "stderr")], factory: factory)
        consumersDropped = CoreMetrics.Counter(label: "runnerd_consumers_dropped_total", factory: factory)
        gapsServed = CoreMetrics.Counter(label: "runnerd_gaps_served_total", factory: factory)
        openConnections = CoreMetrics.Gauge(label: "runnerd_http_connections", factory: factory)
        connectionsRefused = CoreMetrics.Counter(label: "runnerd_http_connections_closed_total", dimensions: [("reason", "refused")], factory: factory)
        connectionsEvicted = CoreMetrics.Counter(label: "runnerd_http_connections_closed_total", dimensions: [("reason", "evicted")], factory: factory)
        connectionsIdleClosed = CoreMetrics.Counter(label: "runnerd_http_connections_closed_total", dimensions: [("reason", "idle")], factory: factory)
        let codes: [ExecFailCode] = [.badRequest, .duplicateExec, .invalidCwd, .execLimit, .spawnFailed, .shuttingDown]
        var failed: [ExecFailCode: CoreMetrics.Counter] = [:]
        for code in codes {
            failed[code] = CoreMetrics.Counter(label: "runnerd_execs_failed_total", dimensions: [("code", code.rawValue)], factory: factory)
        }
        failedByCode = failed
        var exited: [ExitOutcome: CoreMetrics.Counter] = [:]
        for outcome in ExitOutcome.allCases {
            exited[outcome] = CoreMetrics.Counter(label: "runnerd_execs_exited_total", dimensions: [("outcome", outcome.rawValue)], factory: factory)
        }
        exitedByOutcome = exited
    }

    func execStarted() { started.increment() }

    func execFailed(_ code: ExecFailCode) {
        failedByCode[code]?.increment()
    }

    func execExited(_ exit: ExecEvent.Exit) {
        let outcome: ExitOutcome =
            if exit.lost == true { .lost }
            else if exit.timedOut { .timeout }
            else if exit.cancelled { .cancelled }
            else if exit.signal != nil { .signal }
            else if exit.exitCode == 0 { .success }
            else { .failure }
        exitedByOutcome[outcome]?.increment()
    }

    func live(_ count: Int) { liveExecs.record(count) }

    func output(stderr: Bool, bytes: Int) {
        (stderr ? stderrBytes : stdoutBytes).increment(by: bytes)
    }

    func consumerDropped() { consumersDropped.increment() }

    /// Open HTTP connections.
    func connections(_ count: Int) { openConnections.record(count) }

    /// A new connection found every slot busy and was closed at once.
    func connectionRefused() { connectionsRefused.increment() }

    /// An idle connection was closed to make room for a new one.
    func connectionEvicted() { connectionsEvicted.increment() }

    /// An idle connection was closed after the idle timeout.
    func connectionIdleClosed() { connectionsIdleClosed.increment() }

    func gapServed() { gapsServed.increment() }

    /// One answered HTTP request: count by route and status, latency by route.
    func request(route: String, status: Int, durationNanoseconds: Int64) {
        CoreMetrics.Counter(label: "runnerd_http_requests_total", dimensions: [("route", route), ("status", String(status))], factory: factory)
            .increment()
        CoreMetrics.Timer(label: "runnerd_http_request_duration_seconds", dimensions: [("route", route)], factory: factory)
            .recordNanoseconds(durationNanoseconds)
    }

    /// The Prometheus text exposition.
    public func render() -> [UInt8] {
        registry.emitToBuffer()
    }
}
