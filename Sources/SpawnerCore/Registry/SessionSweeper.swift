import Logging
import RunnerProtocol
import ServiceLifecycle
import SystemSupport

/// Destroys sessions past their TTL, idle sessions, and sessions whose sandbox died (marked
/// `gone` when found, removed at the next pass); runs every `interval` until the graceful
/// shutdown.
///
/// Idle means: no running exec according to runnerd's `/healthz` (`liveExecs`) and no
/// activity for `idleTimeoutMs`. Activity is runnerd's own clock (`lastActivityAtMs`: every
/// request but the probes, and output — contract v1.1, so this sweep's `/healthz` never
/// counts), the requests the spawner proxied, and the last sweep that saw a running exec. A
/// runnerd that does not answer is left alone while its sandbox lives.
public struct SessionSweeper: Service {
    let registry: SessionRegistry
    let interval: Duration
    let logger: Logger
    /// Sessions checked at once.
    let concurrency = 16

    public init(registry: SessionRegistry, interval: Duration, logger: Logger) {
        self.registry = registry
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
            } catch {
                return
            }
            await sweepOnce()
        }
    }

    /// One pass: sessions found gone by the last pass are removed, then every ready session
    /// is checked.
    public func sweepOnce() async {
        for sessionId in await registry.goneSessions() {
            await registry.destroy(sessionId, reason: .dead)
        }
        let candidates = await registry.sweepCandidates()
        await withTaskGroup(of: Void.self) { group in
            var next = candidates.makeIterator()
            for _ in 0..<concurrency {
                guard let candidate = next.next() else { break }
                group.addTask { await self.check(candidate) }
            }
            while await group.next() != nil {
                guard let candidate = next.next() else { continue }
                group.addTask { await self.check(candidate) }
            }
        }
        registry.metrics.sweepCompleted()
    }

    func check(_ candidate: SessionRegistry.SweepCandidate) async {
        let labels = candidate.labels
        let log = logger.with(session: labels.sessionId)
        if Syscall.nowMs() >= labels.expiresAtMs {
            log.info("session past its TTL")
            await registry.destroy(labels.sessionId, reason: .ttl)
            return
        }
        // A runnerd adopted while silent is sent the token only once it proves it holds it.
        if !candidate.proven, await !registry.prove(candidate) { return }
        let health: HealthResponse
        do {
            health = try await withDeadline(ContinuousClock.now + .seconds(5)) { try await candidate.runnerd.health() }
        } catch {
            if await registry.backend.endpoint(of: labels.sessionId) == nil {
                log.warning("session's sandbox is gone")
                await registry.markGone(labels.sessionId)
            } else {
                log.warning("runnerd /healthz failed", metadata: ["error": "\(error)"])
            }
            return
        }
        let now = Syscall.nowMs()
        // A clock ahead of ours counts as now.
        let seen = health.liveExecs > 0 ? now : min(health.lastActivityAtMs, now)
        guard let lastActivity = await registry.noteActivity(labels.sessionId, atMs: seen) else { return }
        let idleMs = now.subtractingSaturated(lastActivity)
        if labels.idleTimeoutMs > 0, health.liveExecs == 0, idleMs >= labels.idleTimeoutMs {
            log.info("session idle", metadata: ["idleMs": "\(idleMs)"])
            await registry.destroy(labels.sessionId, reason: .idle)
        }
    }
}
