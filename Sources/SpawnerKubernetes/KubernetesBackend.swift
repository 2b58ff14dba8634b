import AsyncHTTPClient
import Logging
import NIOCore
import RunnerProtocol
import ServiceLifecycle
import SpawnerCore

/// Sessions as Pods: each session is a Pod running the sandbox image with runnerd as PID 1,
/// a Secret holding its runnerd token (a 0400 file in the Pod), and optionally a
/// PersistentVolumeClaim for its workspace, all in one namespace, reached over the Pod IP.
///
/// The Pod is made first and the Secret and claim name it as their owner, so every object
/// exists with its owner from the start and deleting the Pod collects the rest (a kept
/// workspace claim aside). Labels select the Pods; annotations hold the session's facts, which
/// `listLive` reads back after a restart. Objects are only deleted when they are this
/// backend's: made by this create (its create id), or labelled for the session.
///
/// One spawner per namespace: a managed Pod is assumed to be this spawner's.
public actor KubernetesBackend: SessionBackend {
    public nonisolated let name = "kubernetes"
    public nonisolated let assignsAgentUIDs = true
    public nonisolated let services: [any Service]
    public nonisolated let profileNames: Set<String>?

    let settings: KubernetesSettings
    let client: KubernetesClient
    let manifests: SandboxManifests
    let faults: CreateFaults
    let logger: Logger
    /// How long a destroy waits for the Pod to be gone (runnerd's grace and a margin).
    private let destroyTimeout: Duration
    /// The create id of each session this process created: it recognises that create's
    /// objects among same-named ones.
    private var createIds: [String: String] = [:]
    private var creating: Set<String> = []
    /// The last address seen for each live session: an API server that cannot answer for a
    /// while must not make live sessions look gone.
    private var endpoints: [String: RunnerdEndpoint] = [:]

    public init(settings: KubernetesSettings, runnerdKillGraceMs: Int64, runnerdLogLevel: String, faults: CreateFaults = .init(), logger: Logger) {
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: settings.connection.tls, redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5)),
            connectionPool: .init(idleTimeout: .seconds(60)))
        configuration.connectionPool.retryConnectionEstablishment = false
        let httpClient = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        var client = KubernetesClient(connection: settings.connection, namespace: settings.namespace, httpClient: httpClient, logger: logger)
        client.retry = settings.retry
        self.client = client
        self.settings = settings
        self.profileNames = Set(settings.profiles.profiles.keys)
        self.manifests = SandboxManifests(settings: settings, runnerdKillGraceMs: runnerdKillGraceMs, runnerdLogLevel: runnerdLogLevel)
        self.faults = faults
        self.logger = logger
        self.destroyTimeout = .seconds(manifests.terminationGraceSeconds + 30)
        self.services = [KubernetesClientService(client: httpClient)]
        logger.info(
            "kubernetes backend",
            metadata: ["server": "\(settings.connection.server)", "namespace": "\(settings.namespace)", "config": "\(settings.connection.source)"])
    }

    // MARK: SessionBackend

    public nonisolated func sessionIdProblem(_ sessionId: String) -> String? {
        ObjectNames.isDNSLabel(sessionId) ? nil : Self.podNameProblem(sessionId)
    }

    public nonisolated func imageProblem(_ image: String) -> String? {
        settings.otherImages.problem(image, own: settings.image)
    }

    static func podNameProblem(_ sessionId: String) -> String {
        "session id \(sessionId) cannot name a Pod: it must be a DNS label (lower-case letters, digits and '-', starting and ending with a letter or digit)"
    }

    public func create(_ spec: SandboxSpec, deadline: ContinuousClock.Instant) async throws -> RunnerdEndpoint {
        let sessionId = spec.labels.sessionId
        guard ObjectNames.isDNSLabel(sessionId) else {
            throw CreateFailure(.allocate, Self.podNameProblem(sessionId))
        }
        let profile = try settings.profiles.profile(spec.labels.profile)
        let createId = Self.newCreateId()
        createIds[sessionId] = createId
        creating.insert(sessionId)
        defer { creating.remove(sessionId) }

        if let claim = profile.workspace, claim.keep == true { try await checkKeptWorkspace(spec.labels, deadline: deadline) }
        let pod = try await Self.step(.allocate) {
            try await client.create(manifests.pod(spec, profile: profile, createId: createId), deadline: deadline) {
                $0.metadata.annotations?[SandboxMetadata.createIdAnnotation] == createId
            }
        }
        try await Self.step(.allocate) { try await createSecret(spec, owner: pod, createId: createId, deadline: deadline) }
        if let claim = profile.workspace {
            try await Self.step(.allocate) { try await createClaim(spec, claim: claim, owner: pod, createId: createId, deadline: deadline) }
        }
        try faults.check(.allocate)

        let endpoint = try await Self.step(.start) { try await waitUntilServing(pod.name, deadline: deadline) }
        endpoints[sessionId] = endpoint
        try faults.check(.start)
        return endpoint
    }

    public func destroy(sessionId: String) async throws {
        let deadline = ContinuousClock.now + destroyTimeout
        let createId = createIds[sessionId]
        /// This create's object, or (for a session this process did not create) one labelled for it.
        func isOurs(_ metadata: ObjectMeta) -> Bool {
            if let createId { return metadata.annotations?[SandboxMetadata.createIdAnnotation] == createId }
            return SandboxMetadata.isManaged(metadata, sessionId: sessionId)
        }
        // The token first, then the claim (kept until the Pod is gone by its protection
        // finalizer), then the Pod. Deleting the Pod alone would collect the other two as
        // well, in the background; deleting them here makes it prompt, and covers a create
        // that failed before the Pod existed.
        if let secret = try await client.get(Secret.self, ObjectNames.secret(sessionId), deadline: deadline), isOurs(secret.metadata) {
            _ = try await client.delete(Secret.self, secret.name, uid: secret.metadata.uid, deadline: deadline)
        }
        if let claim = try await client.get(PersistentVolumeClaim.self, ObjectNames.workspace(sessionId), deadline: deadline), isOurs(claim.metadata),
            claim.metadata.annotations?[SandboxMetadata.keepAnnotation] != "true"
        {
            _ = try await client.delete(PersistentVolumeClaim.self, claim.name, uid: claim.metadata.uid, deadline: deadline)
        }
        var deletedPod: String?
        if let pod = try await client.get(Pod.self, ObjectNames.pod(sessionId), deadline: deadline), isOurs(pod.metadata) {
            if try await client.delete(Pod.self, pod.name, uid: pod.metadata.uid, deadline: deadline) == .deleted { deletedPod = pod.metadata.uid }
        }
        endpoints[sessionId] = nil
        createIds[sessionId] = nil
        if let uid = deletedPod { await waitUntilGone(ObjectNames.pod(sessionId), uid: uid, deadline: deadline) }
    }

    public func listLive() async throws -> [BackendSession] {
        let pods = try await client.list(Pod.self, labelSelector: SandboxMetadata.selector, deadline: ContinuousClock.now + .seconds(60))
        var live: [BackendSession] = []
        for pod in pods {
            guard let session = SandboxMetadata.session(of: pod.metadata) else {
                logger.warning("a managed Pod without readable session annotations; left alone", metadata: ["pod": "\(pod.name)"])
                continue
            }
            let sessionId = session.sessionId
            switch PodLifecycle.state(of: pod) {
            case .ready:
                let endpoint = RunnerdEndpoint(host: pod.status!.podIP!, port: settings.runnerdPort)
                endpoints[sessionId] = endpoint
                live.append(BackendSession(labels: session, endpoint: endpoint))
            case .stopping:
                continue
            case .creating where creating.contains(sessionId):
                continue
            case .creating, .gone:
                logger.info("removing a sandbox that is not live", metadata: ["session": "\(sessionId)", "pod": "\(PodLifecycle.describe(pod))"])
                try await destroy(sessionId: sessionId)
            }
        }
        return live
    }

    public func endpoint(of sessionId: String) async -> RunnerdEndpoint? {
        let pod: Pod?
        do throws(KubernetesAPIError) {
            pod = try await client.get(Pod.self, ObjectNames.pod(sessionId), deadline: ContinuousClock.now + .seconds(10))
        } catch {
            // Unknown is not gone: keep what was last seen.
            logger.warning("cannot read the session's Pod", metadata: ["session": "\(sessionId)", "error": "\(error)"])
            return endpoints[sessionId]
        }
        guard let pod, SandboxMetadata.isManaged(pod.metadata, sessionId: sessionId), PodLifecycle.state(of: pod) == .ready,
            let ip = pod.status?.podIP
        else {
            endpoints[sessionId] = nil
            return nil
        }
        let endpoint = RunnerdEndpoint(host: ip, port: settings.runnerdPort)
        endpoints[sessionId] = endpoint
        return endpoint
    }

    // MARK: Helpers

    /// Runs one step: an API error becomes a failure of `step` (a timeout a timed-out one).
    /// A kept workspace claim of this id goes only to a session of the owner and org that made
    /// it (`WorkspaceOwnedElsewhere`, checked before anything is made).
    private func checkKeptWorkspace(_ labels: SessionLabels, deadline: ContinuousClock.Instant) async throws {
        let name = ObjectNames.workspace(labels.sessionId)
        let found = try await Self.step(.allocate) { try await client.get(PersistentVolumeClaim.self, name, deadline: deadline) }
        guard let existing = found, SandboxMetadata.isManaged(existing.metadata, sessionId: labels.sessionId) else { return }
        let recorded = SandboxMetadata.session(of: existing.metadata).map { (owner: $0.owner, orgId: $0.orgId) }
        try WorkspaceOwnedElsewhere.check(recorded, for: labels, workspace: name)
    }

    private static func step<T>(_ step: CreateStep, isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> T) async throws(CreateFailure) -> T {
        do {
            return try await body()
        } catch let failure as CreateFailure {
            throw failure
        } catch let error as KubernetesAPIError {
            throw CreateFailure(step, "\(error)", timedOut: error.kind == .timeout)
        } catch {
            throw CreateFailure(step, "\(error)")
        }
    }

    private static func newCreateId() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<2).map { _ in String(generator.next() as UInt64, radix: 16) }.joined(separator: "-")
    }
}
