import AsyncHTTPClient
import Logging
import RunnerProtocol
import RunnerdClient
import SystemSupport

/// The sessions this spawner serves: an actor over a cache that the backend's records and
/// runnerd's activity clock can always rebuild (`adopt`).
///
/// A create reserves its id and its place under every cap synchronously, before its first
/// await, so concurrent creates can never overshoot a cap or share an id. Whatever a create
/// made is removed when any step fails.
public actor SessionRegistry {
    /// One session as the registry holds it.
    struct Entry {
        var labels: SessionLabels
        var state: SessionState
        var endpoint: RunnerdEndpoint?
        /// Latest activity seen: a proxied request, a running exec, runnerd's clock.
        var lastActivityAtMs: Int64
        var creation: Task<Void, any Error>?
        var destruction: Task<Void, Never>?
        /// What runnerd's `/healthz` said confines the agents (issue 15).
        var confinement: Confinement?
        /// The runnerd at `endpoint` proved it holds the session's token (it made it, or it
        /// answered the adoption challenge). Until then it is sent nothing with the token.
        var proven = true

        var info: SessionInfo {
            SessionInfo(
                sessionId: labels.sessionId, owner: labels.owner, orgId: labels.orgId, profile: labels.profile, backend: "",
                state: state, createdAtMs: labels.createdAtMs, lastActivityAtMs: lastActivityAtMs, expiresAtMs: labels.expiresAtMs,
                idleTimeoutMs: labels.idleTimeoutMs, nonce: labels.nonce, confinement: confinement)
        }
    }

    /// Settings of the registry, from `SpawnerConfig`.
    public struct Settings: Sendable {
        public var caps: SessionCaps
        public var readyTimeout: Duration
        public var defaultTTLMs: Int64
        public var defaultIdleTimeoutMs: Int64
        public var defaultProfile = "default"
        public var faults: CreateFaults
        /// Where sessions' agent uids come from (`SPAWNER_AGENT_UIDS`); nil: no uid per session.
        public var agentUIDs: AgentUIDRange? = .standard
        /// How runnerds are probed at boot.
        public var adoptionProbe = AdoptionProbe()

        public init(caps: SessionCaps, readyTimeout: Duration, defaultTTLMs: Int64, defaultIdleTimeoutMs: Int64, faults: CreateFaults) {
            self.caps = caps
            self.readyTimeout = readyTimeout
            self.defaultTTLMs = defaultTTLMs
            self.defaultIdleTimeoutMs = defaultIdleTimeoutMs
            self.faults = faults
        }
    }

    public nonisolated let backend: any SessionBackend
    private let settings: Settings
    private let signer: HMACSigner
    private let httpClient: HTTPClient
    let metrics: SpawnerMetrics
    private let logger: Logger
    private var sessions: [String: Entry] = [:]
    /// Sandboxes with our labels that did not prove their session's token at boot.
    private var foreign: [String: ForeignSandbox] = [:]

    public init(
        backend: any SessionBackend, settings: Settings, signer: HMACSigner, httpClient: HTTPClient, metrics: SpawnerMetrics,
        logger: Logger
    ) {
        self.backend = backend
        self.settings = settings
        self.signer = signer
        self.httpClient = httpClient
        self.metrics = metrics
        self.logger = logger
    }

    // MARK: Queries

    public func info(_ sessionId: String) throws(SpawnerError) -> SessionInfo {
        guard let entry = sessions[sessionId] else { throw .sessionNotFound(sessionId) }
        return withBackend(entry.info)
    }

    public func list(orgId: String? = nil) -> [SessionInfo] {
        sessions.values
            .filter { orgId == nil || $0.labels.orgId == orgId }
            .map { withBackend($0.info) }
            .sorted { ($0.createdAtMs, $0.sessionId) < ($1.createdAtMs, $1.sessionId) }
    }

    public var count: Int { sessions.count }

    /// A client of a ready session's runnerd; counts as activity.
    func runnerd(_ sessionId: String) async throws(SpawnerError) -> RunnerdClient {
        let target = try await target(sessionId)
        return RunnerdClient(baseURL: target.endpoint.baseURL, token: target.token, httpClient: httpClient)
    }

    /// Where a ready session's runnerd answers, with its token; counts as activity. A session
    /// adopted while its runnerd was silent is challenged first (`prove`): the token goes only
    /// to a runnerd that has proven it holds it.
    func target(_ sessionId: String) async throws(SpawnerError) -> RunnerdTarget {
        if let entry = sessions[sessionId], entry.state == .ready, !entry.proven, let endpoint = entry.endpoint {
            _ = await prove(SweepCandidate(labels: entry.labels, lastActivityAtMs: entry.lastActivityAtMs, runnerd: client(entry.labels, endpoint), proven: false))
        }
        guard var entry = sessions[sessionId] else { throw .sessionNotFound(sessionId) }
        guard entry.state == .ready, let endpoint = entry.endpoint else { throw .sessionNotReady(sessionId, entry.state) }
        guard entry.proven else { throw .sessionUnproven(sessionId) }
        entry.lastActivityAtMs = max(entry.lastActivityAtMs, Syscall.nowMs())
        sessions[sessionId] = entry
        return RunnerdTarget(endpoint: endpoint, token: entry.labels.runnerdToken(signer))
    }

    // MARK: Create

    public func create(_ request: CreateSessionRequest) async throws -> SessionInfo {
        if let problem = request.validationError() { throw SpawnerError.badRequest(problem) }
        let profile = request.profile ?? settings.defaultProfile
        if let known = backend.profileNames, !known.contains(profile) {
            throw SpawnerError.badRequest("unknown profile \(profile) (known: \(known.sorted().joined(separator: ", ")))")
        }
        if let image = request.image, let problem = backend.imageProblem(image) { throw SpawnerError.badRequest(problem) }
        let sessionId = request.sessionId ?? Self.newSessionId()
        if let problem = backend.sessionIdProblem(sessionId) { throw SpawnerError.badRequest(problem) }
        // A kept workspace's agent uid (docker), asked before the reservation below.
        let keptUID = backend.assignsAgentUIDs && settings.agentUIDs != nil ? await backend.keptAgentUID(sessionId) : nil
        // Everything up to the insertion is synchronous: the reservation is atomic.
        guard sessions[sessionId] == nil else { throw SpawnerError.sessionTaken(sessionId) }
        if let exceeded = settings.caps.exceeded(by: request.owner, orgId: request.orgId, among: sessions.values.map(\.labels)) {
            metrics.capRejected()
            throw exceeded
        }
        let now = Syscall.nowMs()
        var labels = SessionLabels(
            sessionId: sessionId, owner: request.owner, orgId: request.orgId, profile: profile,
            image: request.image, createdAtMs: now, ttlMs: request.ttlMs ?? settings.defaultTTLMs,
            idleTimeoutMs: request.idleTimeoutMs ?? settings.defaultIdleTimeoutMs, nonce: HMACSigner.makeNonce())
        if backend.assignsAgentUIDs, let range = settings.agentUIDs {
            // A uid no live session has, chosen in the same synchronous reservation: no two
            // sessions share per-uid kernel resources (RLIMIT_NPROC, inotify, signals).
            guard let uid = range.allocate(for: sessionId, inUse: Set(sessions.values.compactMap(\.labels.agentUID)), preferred: keptUID) else {
                metrics.capRejected()
                throw SpawnerError(.totalCapReached, "every agent uid of SPAWNER_AGENT_UIDS (\(range)) is taken")
            }
            labels.agentUID = uid
        }
        sessions[sessionId] = Entry(labels: labels, state: .creating, lastActivityAtMs: now)
        publishGauges()

        // The bring-up runs in a task of its own: a client that hangs up does not leave a
        // half-made session, and a DELETE that arrives meanwhile can wait for it.
        let creation = Task { try await self.bringUp(labels, env: request.env ?? [:]) }
        sessions[sessionId]?.creation = creation
        try await creation.value
        if sessions[sessionId]?.creation == creation { sessions[sessionId]?.creation = nil }
        return try info(sessionId)
    }

    private func bringUp(_ labels: SessionLabels, env: [String: String]) async throws {
        let sessionId = labels.sessionId
        let log = logger.with(session: sessionId)
        let deadline = ContinuousClock.now + settings.readyTimeout
        let started = ContinuousClock.now
        var step = CreateStep.allocate
        do {
            let endpoint = try await backend.create(SandboxSpec(labels: labels, runnerdToken: labels.runnerdToken(signer)), deadline: deadline)
            sessions[sessionId]?.endpoint = endpoint
            let runnerd = client(labels, endpoint)

            step = .ready
            try await waitUntilReady(runnerd, deadline: deadline)
            try settings.faults.check(.ready)

            step = .seedEnv
            if !env.isEmpty {
                let answer = try await withDeadline(deadline) { try await runnerd.env(EnvPatch(set: env)) }
                guard answer.denied.isEmpty else { throw CreateFailure(.seedEnv, "runnerd denied \(answer.denied.sorted())") }
            }
            try settings.faults.check(.seedEnv)
            // For SessionInfo; a runnerd that does not say is no reason to fail the create.
            sessions[sessionId]?.confinement = try? await withDeadline(deadline) { try await runnerd.health() }.confinement
        } catch let owned as WorkspaceOwnedElsewhere {
            // Refused before the backend made anything: nothing to remove.
            log.warning("create refused", metadata: ["error": "\(owned)"])
            sessions[sessionId] = nil
            publishGauges()
            throw SpawnerError(.conflict, owned.description)
        } catch {
            let failure = Self.failure(error, step: step)
            log.warning("create failed; removing what it made", metadata: ["step": "\(failure.step.rawValue)", "error": "\(failure.message)"])
            metrics.createFailed(at: failure.step)
            sessions[sessionId]?.state = .stopping
            publishGauges()
            await removeFromBackend(sessionId, log: log)
            sessions[sessionId] = nil
            publishGauges()
            throw SpawnerError.createFailed(failure)
        }
        sessions[sessionId]?.state = .ready
        sessions[sessionId]?.lastActivityAtMs = Syscall.nowMs()
        metrics.sessionCreated()
        publishGauges()
        log.info("session ready", metadata: [
            "owner": "\(labels.owner)", "org": "\(labels.orgId)", "ms": "\((ContinuousClock.now - started).milliseconds)",
        ])
    }

    /// Polls `/readyz?challenge=C` without the token until runnerd proves it holds the
    /// session's token (contract §4): whatever answers at the endpoint without the proof is not
    /// this session's runnerd and the create fails.
    private func waitUntilReady(_ runnerd: RunnerdClient, deadline: ContinuousClock.Instant) async throws {
        var pause = Duration.milliseconds(1)
        while true {
            switch try? await withDeadline(deadline, { try await runnerd.challenge() }) {
            case .proven?:
                return
            case .noProof?:
                throw CreateFailure(.ready, "the runnerd at \(runnerd.baseURL) does not prove the session's token: no proof")
            case .refuted(let why)?:
                throw CreateFailure(.ready, "the runnerd at \(runnerd.baseURL) does not prove the session's token: \(why)")
            case .status?, nil:
                break
            }
            guard ContinuousClock.now < deadline else { throw CreateFailure(.ready, "runnerd /readyz did not answer before the deadline", timedOut: true) }
            try await Task.sleep(for: pause)
            pause = min(pause * 2, .milliseconds(50))
        }
    }

    private static func failure(_ error: any Error, step: CreateStep) -> CreateFailure {
        switch error {
        case let failure as CreateFailure: failure
        case is DeadlineExceeded: CreateFailure(step, "the ready deadline passed", timedOut: true)
        default: CreateFailure(step, "\(error)")
        }
    }

    // MARK: Destroy

    /// Destroys a session; idempotent, and safe to call while it is being created or destroyed.
    public func destroy(_ sessionId: String, reason: DestroyReason) async {
        guard let entry = sessions[sessionId] else { return }
        if let creation = entry.creation {
            _ = try? await creation.value
        }
        guard let entry = sessions[sessionId] else { return }
        if let destruction = entry.destruction {
            await destruction.value
            return
        }
        let log = logger.with(session: sessionId)
        let destruction = Task {
            await self.removeFromBackend(sessionId, log: log)
            self.sessions[sessionId] = nil
            self.metrics.sessionDestroyed(reason)
            self.publishGauges()
            log.info("session destroyed", metadata: ["reason": "\(reason.rawValue)"])
        }
        sessions[sessionId]?.state = .stopping
        sessions[sessionId]?.destruction = destruction
        publishGauges()
        await destruction.value
    }

    private func removeFromBackend(_ sessionId: String, log: Logger) async {
        do {
            try await backend.destroy(sessionId: sessionId)
        } catch {
            log.error("backend could not remove the session", metadata: ["error": "\(error)"])
        }
    }

    // MARK: Boot and sweep

    /// Re-adopts every live session of the backend. Each runnerd is challenged first
    /// (`AdoptionProbe`: all at once, each retried): only one that proves it holds the
    /// session's token is sent that token and adopted, its activity clock becoming the
    /// session's. One that answers without the proof is foreign — a sandbox with copied labels,
    /// or not this session's — and is left alone: never adopted, never sent the token, never
    /// destroyed (`foreignSandboxes`). One that does not answer at all is adopted as long as
    /// the backend says its sandbox lives — a slow or stopped runnerd is never a reason to
    /// delete a workspace; the sweep keeps checking it. Call once, before serving.
    public func adopt() async throws {
        let live = try await backend.listLive()
        let probes = live.map { (session: $0, runnerd: client($0.labels, $0.endpoint)) }
        let probe = settings.adoptionProbe
        let verdicts = await withTaskGroup(of: (Int, AdoptionProbe.Verdict).self) { group in
            var verdicts: [AdoptionProbe.Verdict?] = Array(repeating: nil, count: probes.count)
            var next = probes.indices.makeIterator()
            func addNext() {
                guard let index = next.next() else { return }
                let (session, runnerd) = probes[index]
                group.addTask { (index, await probe.verdict(runnerd, labels: session.labels)) }
            }
            for _ in 0..<AdoptionProbe.concurrency { addNext() }
            while let (index, verdict) = await group.next() {
                verdicts[index] = verdict
                addNext()
            }
            return verdicts
        }
        for ((session, _), verdict) in zip(probes, verdicts) {
            await settle(session, verdict ?? .silent("not probed"))
        }
        metrics.setForeignSandboxes(foreign.count)
        publishGauges()
    }

    /// Sandboxes found at boot that did not prove their session's token (`adopt`), by session id.
    public var foreignSandboxes: [ForeignSandbox] {
        foreign.values.sorted { $0.sessionId < $1.sessionId }
    }

    private func settle(_ session: BackendSession, _ verdict: AdoptionProbe.Verdict) async {
        let sessionId = session.labels.sessionId
        let log = logger.with(session: sessionId)
        let now = Syscall.nowMs()
        switch verdict {
        case .healthy(let health):
            // runnerd's clock, kept between the session's creation and now.
            let activity = max(session.labels.createdAtMs, min(health.lastActivityAtMs, now))
            sessions[sessionId] = Entry(
                labels: session.labels, state: .ready, endpoint: session.endpoint, lastActivityAtMs: activity, confinement: health.confinement)
            log.info("session adopted", metadata: ["endpoint": "\(session.endpoint.baseURL)"])
        case .provenSilent(let reason):
            sessions[sessionId] = Entry(labels: session.labels, state: .ready, endpoint: session.endpoint, lastActivityAtMs: now)
            log.warning("runnerd proved its token but gave no health; adopted, the sweep keeps checking it", metadata: ["error": "\(reason)"])
        case .foreign(let reason):
            foreign[sessionId] = ForeignSandbox(sessionId: sessionId, endpoint: session.endpoint.baseURL, reason: reason)
            log.warning("sandbox does not prove the session's token; left alone as foreign", metadata: [
                "endpoint": "\(session.endpoint.baseURL)", "reason": "\(reason)",
            ])
        case .silent(let reason):
            guard await backend.endpoint(of: sessionId) != nil else {
                log.warning("sandbox died while it was probed; removing it", metadata: ["error": "\(reason)"])
                await removeFromBackend(sessionId, log: log)
                metrics.sessionDestroyed(.dead)
                return
            }
            // Alive but silent (stopped, overloaded): adopted, unproven: idle time counts from
            // now, and nothing is sent to it with the token until it answers a challenge (a
            // sweep's, or the one a request to the session makes first: `prove`).
            sessions[sessionId] = Entry(
                labels: session.labels, state: .ready, endpoint: session.endpoint, lastActivityAtMs: now, proven: false)
            log.warning("runnerd did not answer; adopted, the sweep keeps checking it", metadata: [
                "endpoint": "\(session.endpoint.baseURL)", "error": "\(reason)",
            ])
        }
    }

    /// Marks a ready session whose sandbox died or was removed outside the spawner: it shows
    /// as `gone` (requests to it are refused) until the next sweep removes what is left.
    func markGone(_ sessionId: String) {
        guard sessions[sessionId]?.state == .ready else { return }
        sessions[sessionId]?.state = .gone
        publishGauges()
    }

    /// The sessions marked `gone`.
    func goneSessions() -> [String] {
        sessions.values.filter { $0.state == .gone }.map(\.labels.sessionId).sorted()
    }

    /// What the sweep needs to judge a ready session.
    struct SweepCandidate: Sendable {
        var labels: SessionLabels
        var lastActivityAtMs: Int64
        var runnerd: RunnerdClient
        /// Its runnerd has proven the token (else the sweep challenges it first: `prove`).
        var proven: Bool
    }

    func sweepCandidates() -> [SweepCandidate] {
        sessions.values.compactMap { entry in
            guard entry.state == .ready, let endpoint = entry.endpoint else { return nil }
            return SweepCandidate(
                labels: entry.labels, lastActivityAtMs: entry.lastActivityAtMs, runnerd: client(entry.labels, endpoint), proven: entry.proven)
        }
    }

    /// Challenges the runnerd of a session adopted while silent (one attempt): true once it
    /// has proven the session's token (the session is then served); one that answers without
    /// the proof is dropped from the registry as foreign, its sandbox left alone.
    func prove(_ candidate: SweepCandidate) async -> Bool {
        var probe = settings.adoptionProbe
        probe.attempts = 1
        let verdict = await probe.verdict(candidate.runnerd, labels: candidate.labels)
        let sessionId = candidate.labels.sessionId
        guard sessions[sessionId]?.state == .ready, sessions[sessionId]?.endpoint?.baseURL == candidate.runnerd.baseURL else { return false }
        switch verdict {
        case .healthy, .provenSilent:
            sessions[sessionId]?.proven = true
            logger.with(session: sessionId).info("runnerd proved the session's token; serving it")
            return true
        case .foreign(let reason):
            sessions[sessionId] = nil
            foreign[sessionId] = ForeignSandbox(sessionId: sessionId, endpoint: candidate.runnerd.baseURL, reason: reason)
            metrics.setForeignSandboxes(foreign.count)
            publishGauges()
            logger.with(session: sessionId).warning("sandbox does not prove the session's token; left alone as foreign", metadata: ["reason": "\(reason)"])
            return false
        case .silent:
            return false
        }
    }

    /// Records activity seen by the sweep; returns the session's latest activity.
    func noteActivity(_ sessionId: String, atMs: Int64) -> Int64? {
        guard var entry = sessions[sessionId] else { return nil }
        entry.lastActivityAtMs = max(entry.lastActivityAtMs, atMs)
        sessions[sessionId] = entry
        return entry.lastActivityAtMs
    }

    // MARK: Helpers

    private func client(_ labels: SessionLabels, _ endpoint: RunnerdEndpoint) -> RunnerdClient {
        RunnerdClient(baseURL: endpoint.baseURL, token: labels.runnerdToken(signer), httpClient: httpClient)
    }

    private nonisolated func withBackend(_ info: SessionInfo) -> SessionInfo {
        var info = info
        info.backend = backend.name
        return info
    }

    private func publishGauges() {
        var counts: [SessionState: Int] = [:]
        for entry in sessions.values { counts[entry.state, default: 0] += 1 }
        metrics.setSessions(counts)
    }

    /// `s-` and 16 random hex digits.
    static func newSessionId() -> String {
        var generator = SystemRandomNumberGenerator()
        let value = generator.next() as UInt64
        let hex = String(value, radix: 16)
        return "s-" + String(repeating: "0", count: 16 - hex.count) + hex
    }
}

extension Logger {
    /// This logger with the session id as metadata.
    func with(session sessionId: String) -> Logger {
        var logger = self
        logger[metadataKey: "session"] = "\(sessionId)"
        return logger
    }
}
