import AsyncHTTPClient
import Logging
import NIOCore
import RunnerProtocol
import RunnerdClient
import ServiceLifecycle
import SpawnerCore
import SystemSupport

/// Sessions as Docker containers, through the Engine API on its Unix socket: one container per
/// session (named `sandbox-<id>`, runnerd as PID 1) on the sandbox network, its workspace on a
/// named volume, its token in a root-only file on a second, private volume. The spawner reaches
/// runnerd at the container's IP on that network, never through `docker exec`.
///
/// The containers' labels are the truth: the registry is rebuilt from them after a restart, and
/// only containers and volumes carrying this spawner's scope are ever touched.
public actor DockerBackend: SessionBackend {
    public nonisolated let name = "docker"
    public nonisolated let assignsAgentUIDs = true
    public nonisolated let services: [any Service] = []

    public nonisolated let profileNames: Set<String>?

    private let settings: DockerSettings
    private let profiles: DockerProfiles
    private let unversioned: DockerEngine
    private let httpClient: HTTPClient
    private let killGraceMs: Int64
    private let runnerdLogLevel: String
    private let faults: CreateFaults
    private let logger: Logger

    /// The engine at the negotiated API version with the networks in place, and the sandboxes'
    /// firewall; made once.
    private var preparation: Task<Prepared, any Error>?
    /// Sessions whose create is under way (their volumes are not leftovers).
    private var creating: Set<String> = []
    /// The last address seen per session, for when the engine cannot be asked.
    private var known: [String: RunnerdEndpoint] = [:]

    public init(
        settings: DockerSettings, httpClient: HTTPClient, runnerdKillGraceMs: Int64, runnerdLogLevel: String,
        faults: CreateFaults = .init(), logger: Logger
    ) {
        self.settings = settings
        self.profiles = settings.profiles
        self.profileNames = Set(settings.profiles.byName.keys)
        self.unversioned = DockerEngine(socketPath: settings.socketPath, httpClient: httpClient)
        self.httpClient = httpClient
        self.killGraceMs = runnerdKillGraceMs
        self.runnerdLogLevel = runnerdLogLevel
        self.faults = faults
        self.logger = logger
    }

    // MARK: SessionBackend

    public nonisolated func imageProblem(_ image: String) -> String? {
        settings.otherImages.problem(image, own: settings.image)
    }

    public func create(_ spec: SandboxSpec, deadline: ContinuousClock.Instant) async throws -> RunnerdEndpoint {
        let sessionId = spec.labels.sessionId
        creating.insert(sessionId)
        defer { creating.remove(sessionId) }

        if settings.keepWorkspaces { try await checkKeptWorkspace(spec.labels, deadline: deadline) }
        let sandbox = try await CreateFailure.during(.allocate) { () async throws -> SandboxContainer in
            let prepared = try await preparedEngine()
            let engine = prepared.engine
            guard let profile = profiles[spec.labels.profile] else { throw CreateFailure(.allocate, "unknown profile \(spec.labels.profile)") }
            let network = profile.egress ? settings.egressNetwork : settings.network
            let sandbox = SandboxContainer(
                labels: spec.labels, profile: profile, image: spec.labels.image ?? settings.image,
                network: network, scope: settings.scope,
                runnerdPort: settings.runnerdPort, killGraceMs: killGraceMs, logLevel: runnerdLogLevel,
                networkPolicy: prepared.firewall?.policy(for: profile, network: network))
            try await allocate(sandbox, token: spec.runnerdToken, engine: engine, deadline: deadline)
            return sandbox
        }
        try faults.check(.allocate)

        let endpoint = try await CreateFailure.during(.start) {
            let engine = try await prepared()
            try await engine.startContainer(sandbox.names.container, timeout: try Self.remaining(deadline, .start))
            return try await waitUntilListening(sandbox, engine: engine, deadline: deadline)
        }
        known[sessionId] = endpoint
        try faults.check(.start)
        return endpoint
    }

    public func destroy(sessionId: String) async throws {
        let engine = try await prepared()
        let names = SandboxNames(sessionId: sessionId)
        known[sessionId] = nil
        if let container = try await engine.inspectContainer(names.container) {
            if SandboxLabels.belongs(container.config.labels, to: sessionId, scope: settings.scope) {
                if container.state.running {
                    try await engine.stopContainer(container.id, graceSeconds: Int((killGraceMs + 999) / 1000) + 3)
                }
                try await engine.removeContainer(container.id)
            } else {
                logger.warning("a container has the session's name but is not this spawner's; leaving it", metadata: ["container": "\(names.container)"])
            }
        }
        try await removeVolume(names.runnerdVolume, of: sessionId, engine: engine)
        if !settings.keepWorkspaces { try await removeVolume(names.workspaceVolume, of: sessionId, engine: engine) }
    }

    public func listLive() async throws -> [BackendSession] {
        let engine = try await prepared()
        var live: [BackendSession] = []
        var seen: Set<String> = []
        for container in try await engine.listContainers(labels: [SandboxLabels.scope: settings.scope]) {
            let labels = container.labels ?? [:]
            guard let sessionId = labels[SandboxLabels.session], labels[SandboxLabels.role] == SandboxLabels.Role.sandbox.rawValue else { continue }
            seen.insert(sessionId)
            if creating.contains(sessionId) { continue }
            if let session = SandboxLabels.decode(labels), container.state == "running",
                let endpoint = endpoint(container.networkSettings, labels: labels)
            {
                known[sessionId] = endpoint
                live.append(BackendSession(labels: session, endpoint: endpoint))
            } else {
                logger.info("removing a sandbox that is not running", metadata: ["session": "\(sessionId)", "state": "\(container.state)"])
                try await destroy(sessionId: sessionId)
            }
        }
        // Volumes left by a create or destroy that never finished (the spawner died midway).
        for volume in try await engine.listVolumes(labels: [SandboxLabels.scope: settings.scope]) {
            guard let labels = volume.labels, let sessionId = labels[SandboxLabels.session], !seen.contains(sessionId),
                !creating.contains(sessionId)
            else { continue }
            if labels[SandboxLabels.role] == SandboxLabels.Role.workspace.rawValue && settings.keepWorkspaces { continue }
            logger.info("removing a leftover volume", metadata: ["session": "\(sessionId)", "volume": "\(volume.name)"])
            try await removeVolume(volume.name, of: sessionId, engine: engine)
        }
        return live
    }

    public func endpoint(of sessionId: String) async -> RunnerdEndpoint? {
        do {
            let engine = try await prepared()
            guard let container = try await engine.inspectContainer(SandboxNames(sessionId: sessionId).container),
                SandboxLabels.belongs(container.config.labels, to: sessionId, scope: settings.scope), container.state.running,
                let endpoint = endpoint(container.networkSettings, labels: container.config.labels ?? [:])
            else {
                known[sessionId] = nil
                return nil
            }
            known[sessionId] = endpoint
            return endpoint
        } catch {
            // An engine that does not answer says nothing about the sandbox.
            logger.warning("cannot ask the engine about a sandbox", metadata: ["session": "\(sessionId)", "error": "\(error)"])
            return known[sessionId]
        }
    }

    // MARK: Steps

    /// What the backend works out once, when it first talks to the engine.
    private struct Prepared: Sendable {
        var engine: DockerEngine
        /// nil with `SPAWNER_DOCKER_NETWORK_POLICY=off`.
        var firewall: SandboxFirewall?
    }

    /// The engine at the negotiated version, with the sandbox networks made.
    private func prepared() async throws -> DockerEngine {
        try await preparedEngine().engine
    }

    /// The engine and the sandboxes' firewall; retried after a failure.
    private func preparedEngine() async throws -> Prepared {
        if let preparation {
            do {
                return try await preparation.value
            } catch {
                if self.preparation == preparation { self.preparation = nil }
                throw error
            }
        }
        let task = Task { [unversioned, settings, profiles, logger] in
            let (engine, version) = try await unversioned.negotiated()
            let inboundFrom = try await SandboxNetworks(engine: engine, settings: settings, needsEgress: profiles.anyEgress, logger: logger).prepare()
            let firewall = settings.networkPolicy ? SandboxFirewall(inboundFrom: inboundFrom, hostAddresses: SandboxFirewall.localAddresses()) : nil
            logger.info("docker engine ready", metadata: [
                "engine": "\(version)", "api": "\(engine.api)", "socket": "\(settings.socketPath)", "network": "\(settings.network)",
                "scope": "\(settings.scope)", "networkPolicy": "\(firewall == nil ? "off" : "confined")",
                "spawnerAddresses": "\(inboundFrom.values.flatMap { $0 }.map(\.description))",
            ])
            if firewall == nil {
                logger.warning("SPAWNER_DOCKER_NETWORK_POLICY=off: sandboxes get no firewall of their own and reach the host, its networks and each other")
            }
            return Prepared(engine: engine, firewall: firewall)
        }
        preparation = task
        return try await preparedEngine()
    }

    /// The volumes, the container and the token file; everything made stays for `destroy`.
    /// A kept workspace of this id goes only to a session of the owner and org that made it
    /// (`WorkspaceOwnedElsewhere`, checked before anything is made).
    public func keptAgentUID(_ sessionId: String) async -> UInt32? {
        guard settings.keepWorkspaces, let engine = try? await prepared(),
            let volume = try? await engine.inspectVolume(SandboxNames(sessionId: sessionId).workspaceVolume, timeout: .seconds(5)),
            SandboxLabels.belongs(volume.labels, to: sessionId, scope: settings.scope)
        else { return nil }
        return volume.labels?[SandboxLabels.agentUID].flatMap(UInt32.init)
    }

    private func checkKeptWorkspace(_ labels: SessionLabels, deadline: ContinuousClock.Instant) async throws {
        let name = SandboxNames(sessionId: labels.sessionId).workspaceVolume
        let engine = try await CreateFailure.during(.allocate) { try await prepared() }
        let found = try await CreateFailure.during(.allocate) { try await engine.inspectVolume(name, timeout: try Self.remaining(deadline, .allocate)) }
        guard let workspace = found, SandboxLabels.belongs(workspace.labels, to: labels.sessionId, scope: settings.scope) else { return }
        try WorkspaceOwnedElsewhere.check(SandboxLabels.owner(ofWorkspace: workspace.labels), for: labels, workspace: name)
    }

    private func allocate(_ sandbox: SandboxContainer, token: String, engine: DockerEngine, deadline: ContinuousClock.Instant) async throws {
        let sessionId = sandbox.labels.sessionId
        let names = sandbox.names
        if let workspace = try await engine.inspectVolume(names.workspaceVolume, timeout: try Self.remaining(deadline, .allocate)) {
            // A kept workspace of an earlier session with this id is reused; anything else is not ours to take.
            guard settings.keepWorkspaces, SandboxLabels.belongs(workspace.labels, to: sessionId, scope: settings.scope) else {
                throw CreateFailure(.allocate, "volume \(names.workspaceVolume) exists already")
            }
        } else {
            try await engine.createVolume(
                name: names.workspaceVolume, labels: SandboxLabels.encode(sandbox.labels, scope: settings.scope, role: .workspace),
                timeout: try Self.remaining(deadline, .allocate))
        }
        if try await engine.inspectVolume(names.runnerdVolume, timeout: try Self.remaining(deadline, .allocate)) != nil {
            throw CreateFailure(.allocate, "volume \(names.runnerdVolume) exists already")
        }
        try await engine.createVolume(
            name: names.runnerdVolume, labels: SandboxLabels.encode(sandbox.labels, scope: settings.scope, role: .runnerdState),
            timeout: try Self.remaining(deadline, .allocate))
        let id = try await engine.createContainer(name: names.container, sandbox.createBody, timeout: try Self.remaining(deadline, .allocate))
        // Before the start, so runnerd finds it at boot; a file on the private volume, so
        // neither `docker inspect` nor the agents see it.
        try await engine.putArchive(
            id, path: SandboxContainer.runnerdPath, tar: SandboxContainer.tokenArchive(token), timeout: try Self.remaining(deadline, .allocate))
    }

    /// Polls runnerd's `/readyz` until it answers; fails early, with runnerd's last words, if
    /// the container stops.
    private func waitUntilListening(_ sandbox: SandboxContainer, engine: DockerEngine, deadline: ContinuousClock.Instant) async throws -> RunnerdEndpoint {
        var pause = Duration.milliseconds(2)
        var endpoint: RunnerdEndpoint?
        while true {
            guard let container = try await engine.inspectContainer(sandbox.names.container, timeout: try Self.remaining(deadline, .start)) else {
                throw CreateFailure(.start, "the container was removed during the start")
            }
            guard container.state.running else {
                let logs = (try? await engine.logTail(container.id)) ?? ""
                let oom = container.state.oomKilled == true ? " (out of memory)" : ""
                throw CreateFailure(.start, "runnerd exited during the start with status \(container.state.exitCode ?? -1)\(oom): \(logs)")
            }
            endpoint = endpoint ?? self.endpoint(container.networkSettings, labels: container.config.labels ?? [:])
            if let endpoint {
                let probeDeadline = min(deadline, ContinuousClock.now + .seconds(2))
                let client = RunnerdClient(baseURL: endpoint.baseURL, token: nil, httpClient: httpClient)
                if (try? await withDeadline(probeDeadline) { try await client.ready() }) == true { return endpoint }
            }
            guard ContinuousClock.now < deadline else {
                throw CreateFailure(.start, "runnerd did not listen before the ready deadline", timedOut: true)
            }
            try await Task.sleep(for: min(pause, deadline - ContinuousClock.now))
            pause = min(pause * 2, .milliseconds(50))
        }
    }

    private func removeVolume(_ name: String, of sessionId: String, engine: DockerEngine) async throws {
        guard let volume = try await engine.inspectVolume(name) else { return }
        guard SandboxLabels.belongs(volume.labels, to: sessionId, scope: settings.scope) else {
            logger.warning("a volume has the session's name but is not this spawner's; leaving it", metadata: ["volume": "\(name)"])
            return
        }
        try await engine.removeVolume(name)
    }

    /// runnerd's address on the network the container's labels name.
    private func endpoint(_ settings: DockerModels.NetworkSettings?, labels: [String: String]) -> RunnerdEndpoint? {
        let network = labels[SandboxLabels.network] ?? self.settings.network
        guard let address = settings?.networks?[network]?.ipAddress, !address.isEmpty else { return nil }
        return RunnerdEndpoint(host: address, port: self.settings.runnerdPort)
    }

    /// What is left of the create's deadline, as a request timeout; a failure of `step` when nothing is.
    private static func remaining(_ deadline: ContinuousClock.Instant, _ step: CreateStep) throws(CreateFailure) -> TimeAmount {
        let left = deadline - ContinuousClock.now
        guard left > .zero else { throw CreateFailure(step, "the ready deadline passed", timedOut: true) }
        return .nanoseconds(max(1_000_000, left.nanoseconds))
    }
}
