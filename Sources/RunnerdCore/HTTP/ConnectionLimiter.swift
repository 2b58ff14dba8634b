import NIOCore
import SystemSupport

/// The open HTTP connections: at most `maxConnections`, and none left sitting idle.
///
/// A connection is *busy* while runnerd answers it (an exec stream, an attach, a file stage
/// that takes minutes) and *idle* otherwise: between requests, or while a request's head or
/// body trickles in. An idle connection on which nothing arrived for `idleTimeout` is closed.
/// When a new connection finds every slot taken, the idle connection that was quiet the
/// longest makes room for it; only when every connection is busy is the new one refused
/// (`ConnectionAdmission`, the spawner's rule too). So a flood of connections that send
/// nothing (or send slowly) can hold no slot that a real client needs, and never stops an
/// exec stream.
///
/// Loop-confined: runnerd's connections all live on its one event loop.
final class ConnectionLimiter {
    struct Settings: Sendable {
        var maxConnections: Int
        var idleTimeout: TimeAmount
    }

    let settings: Settings
    private let loop: any EventLoop
    private let metrics: RunnerdMetrics
    private var open: [ObjectIdentifier: RunnerdHTTPHandler] = [:]
    private var sweeper: Scheduled<Void>?
    private var stopped = false

    init(settings: Settings, loop: any EventLoop, metrics: RunnerdMetrics) {
        self.settings = settings
        self.loop = loop
        self.metrics = metrics
    }

    var count: Int { open.count }

    /// Starts the idle sweep (a few times per timeout, so a connection goes within 1.25×).
    func start() {
        guard !stopped else { return }
        let period = TimeAmount.nanoseconds(max(settings.idleTimeout.nanoseconds / 4, 10_000_000))
        sweeper = loop.assumeIsolated().scheduleTask(in: period) { [self] in
            sweep()
            start()
        }
    }

    func stop() {
        stopped = true
        sweeper?.cancel()
        sweeper = nil
    }

    /// A new connection: admitted (possibly after closing the longest-idle one), or refused
    /// when every connection is busy.
    func admit(_ connection: RunnerdHTTPHandler) -> Bool {
        loop.preconditionInEventLoop()
        let candidates = open.values.map { ConnectionAdmission.Candidate(id: $0, isBusy: $0.isBusy, idleSince: $0.lastActivity) }
        switch ConnectionAdmission(limit: settings.maxConnections).decide(open: candidates) {
        case .admit:
            break
        case .admitClosing(let quietest):
            metrics.connectionEvicted()
            forget(quietest)
            quietest.close()
        case .refuse:
            metrics.connectionRefused()
            return false
        }
        open[ObjectIdentifier(connection)] = connection
        metrics.connections(open.count)
        return true
    }

    /// The connection closed.
    func closed(_ connection: RunnerdHTTPHandler) {
        forget(connection)
    }

    private func forget(_ connection: RunnerdHTTPHandler) {
        if open.removeValue(forKey: ObjectIdentifier(connection)) != nil {
            metrics.connections(open.count)
        }
    }

    /// Closes every idle connection quiet for longer than the timeout.
    func sweep(now: NIODeadline = .now()) {
        let expired = open.values.filter { !$0.isBusy && now - $0.lastActivity >= settings.idleTimeout }
        for connection in expired {
            metrics.connectionIdleClosed()
            forget(connection)
            connection.close()
        }
    }
}
