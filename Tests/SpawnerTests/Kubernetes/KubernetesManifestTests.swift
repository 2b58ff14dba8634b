import Foundation
import RunnerProtocol
@testable import SpawnerCore
@testable import SpawnerKubernetes
import Testing

/// The objects the backend builds for a session: the Pod's confinement, where the token goes
/// (a 0400 file, nowhere else), labels and annotations, owner references; and what a Pod's
/// phase means for its session.
@Suite(.timeLimit(.minutes(2))) struct KubernetesManifestTests {
    static let token = "f00dfeed" + String(repeating: "ab", count: 28)

    static func manifests(profiles: SandboxProfiles = .builtIn) -> SandboxManifests {
        let connection = KubernetesConnection(server: "https://k", tls: nil, credentials: .none, namespace: nil, source: "test")
        var settings = KubernetesSettings(connection: connection, namespace: "sandboxes")
        settings.profiles = profiles
        return SandboxManifests(settings: settings, runnerdKillGraceMs: 2_000, runnerdLogLevel: "info")
    }

    static func spec(owner: String = "alice", org: String = "org-a", image: String? = nil) -> SandboxSpec {
        SandboxSpec(
            labels: SessionLabels(
                sessionId: "s-1", owner: SessionOwner(kind: "user", id: owner), orgId: org, profile: "default", image: image, createdAtMs: 1_000,
                ttlMs: 5_000, idleTimeoutMs: 0),
            runnerdToken: token)
    }

    @Test func podIsConfinedAndRunnerdIsItsOnlyProcess() throws {
        let pod = Self.manifests().pod(Self.spec(), profile: SandboxProfiles.builtIn.profiles["default"]!, createId: "c1")
        let container = try #require(pod.spec.containers.first)
        #expect(pod.spec.containers.count == 1)
        #expect(container.command == ["/usr/local/bin/runnerd"])
        #expect(container.image == "runnerd-sandbox:local")
        #expect(pod.spec.restartPolicy == "Never")
        #expect(pod.spec.automountServiceAccountToken == false)
        #expect(pod.spec.enableServiceLinks == false)
        #expect(pod.spec.securityContext?.seccompProfile == SeccompProfile(type: "RuntimeDefault"))
        let security = try #require(container.securityContext)
        #expect(security.capabilities?.drop == ["ALL"])
        #expect(Set(security.capabilities?.add ?? []) == ["CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "SETGID", "SETPCAP", "SETUID"])
        #expect(security.allowPrivilegeEscalation == false)
        #expect(security.readOnlyRootFilesystem == true)
        #expect(security.privileged == false)
        #expect(container.resources?.limits?["memory"] == "1Gi")
        #expect(container.readinessProbe?.httpGet == HTTPGetAction(path: "/readyz", port: 8200))
        #expect(pod.spec.terminationGracePeriodSeconds == 7)
        #expect(pod.spec.hostUsers == nil)
        // The workspace, runnerd's journal and /tmp are the only writable places.
        #expect(Set(container.volumeMounts?.filter { $0.readOnly != true }.map(\.mountPath) ?? []) == ["/agent", "/var/lib/runnerd", "/tmp"])
    }

    @Test func userNamespacesOnRequest() throws {
        var manifests = Self.manifests()
        var settings = manifests.settings
        settings.userNamespaces = true
        manifests = SandboxManifests(settings: settings, runnerdKillGraceMs: 2_000, runnerdLogLevel: "info")
        let pod = manifests.pod(Self.spec(), profile: SandboxProfile(), createId: "c1")
        #expect(pod.spec.hostUsers == false)
        #expect(String(decoding: try WireJSON.encode(pod.spec), as: UTF8.self).contains(#""hostUsers":false"#))
    }

    @Test func theTokenIsARootOnlyFileAndNothingElse() throws {
        let manifests = Self.manifests()
        let pod = manifests.pod(Self.spec(), profile: SandboxProfiles.builtIn.profiles["default"]!, createId: "c1")
        let env = Dictionary(uniqueKeysWithValues: (pod.spec.containers[0].env ?? []).map { ($0.name, $0.value ?? "") })
        #expect(env["RUNNERD_TOKEN_FILE"] == "/run/runnerd/token")
        #expect(env["RUNNERD_TOKEN"] == nil)
        #expect(env["RUNNERD_WORKSPACE"] == "/agent")
        #expect(env["RUNNERD_STATE_DIR"] == "/var/lib/runnerd/state")
        // The token file is outside the workspace.
        #expect(!env["RUNNERD_TOKEN_FILE"]!.hasPrefix(env["RUNNERD_WORKSPACE"]! + "/"))
        let volume = try #require(pod.spec.volumes?.first { $0.name == "runnerd-token" }?.secret)
        #expect(volume.secretName == "s-1-runnerd-token")
        #expect(volume.defaultMode == 0o400)
        #expect(volume.items == [KeyToPath(key: "token", path: "token", mode: 0o400)])
        // Nowhere in the Pod: not in env, argv, labels or annotations.
        let podJSON = String(decoding: try WireJSON.encode(pod), as: UTF8.self)
        #expect(!podJSON.contains(Self.token))
        #expect(!podJSON.contains(Base64.encode(Array(Self.token.utf8))))

        var owner = pod
        owner.metadata.uid = "pod-uid"
        let secret = manifests.secret(Self.spec(), owner: owner, createId: "c1")
        #expect(secret.data?["token"].flatMap { Base64.decode($0) } == Array(Self.token.utf8))
        #expect(secret.immutable == true)
        #expect(secret.metadata.ownerReferences == [OwnerReference(apiVersion: "v1", kind: "Pod", name: "s-1", uid: "pod-uid")])
        let secretMetadata = String(decoding: try WireJSON.encode(secret.metadata), as: UTF8.self)
        #expect(!secretMetadata.contains(Self.token))
    }

    @Test func labelsSelectAndAnnotationsCarryTheSession() throws {
        let spec = Self.spec(owner: "Alice Smith <alice@example.com>", org: "org-a")
        let pod = Self.manifests().pod(spec, profile: SandboxProfile(egress: true), createId: "c1")
        let labels = try #require(pod.metadata.labels)
        #expect(labels["app.kubernetes.io/managed-by"] == "spawner")
        #expect(labels["app.kubernetes.io/component"] == "sandbox")
        #expect(labels["spawner.runnerd.dev/session"] == "s-1")
        #expect(labels["spawner.runnerd.dev/org"] == "org-a")
        #expect(labels["spawner.runnerd.dev/owner-kind"] == "user")
        #expect(labels["spawner.runnerd.dev/owner-id"] == nil)  // not a valid label value: only annotated
        #expect(labels["spawner.runnerd.dev/egress"] == "allowed")
        #expect(labels.values.allSatisfy(SandboxMetadata.isLabelValue))
        let annotations = try #require(pod.metadata.annotations)
        #expect(annotations["spawner.runnerd.dev/created-at-ms"] == "1000")
        #expect(annotations["spawner.runnerd.dev/expires-at-ms"] == "6000")
        #expect(SandboxMetadata.session(of: pod.metadata) == spec.labels)
        // Not ours without the managed-by label.
        var foreign = pod.metadata
        foreign.labels?["app.kubernetes.io/managed-by"] = "someone"
        #expect(SandboxMetadata.session(of: foreign) == nil)
    }

    @Test func workspaceClaimIsOwnedUnlessKept() throws {
        let manifests = Self.manifests()
        var owner = manifests.pod(Self.spec(), profile: SandboxProfile(), createId: "c1")
        owner.metadata.uid = "u"
        let claim = manifests.workspaceClaim(Self.spec(), claim: .init(storageClassName: "fast", size: "5Gi"), owner: owner, createId: "c1")
        #expect(claim.spec.storageClassName == "fast")
        #expect(claim.spec.resources.requests == ["storage": "5Gi"])
        #expect(claim.metadata.ownerReferences?.first?.uid == "u")
        let kept = manifests.workspaceClaim(Self.spec(), claim: .init(storageClassName: nil, size: "5Gi", keep: true), owner: owner, createId: "c1")
        #expect(kept.metadata.ownerReferences == nil)
        #expect(kept.metadata.annotations?["spawner.runnerd.dev/keep"] == "true")
        let withClaim = manifests.pod(Self.spec(), profile: SandboxProfile(workspace: .init(storageClassName: nil, size: "1Gi")), createId: "c1")
        #expect(withClaim.spec.volumes?.first { $0.name == "workspace" }?.persistentVolumeClaim?.claimName == "s-1-workspace")
    }

    @Test func podPhasesMapToSessionStates() {
        func pod(phase: String?, ip: String? = nil, deleting: Bool = false, reason: String? = nil) -> Pod {
            var pod = Pod(metadata: ObjectMeta(name: "p"), spec: PodSpec(containers: []))
            var status = PodStatus()
            status.phase = phase
            status.podIP = ip
            status.reason = reason
            pod.status = status
            if deleting { pod.metadata.deletionTimestamp = "2026-01-01T00:00:00Z" }
            return pod
        }
        #expect(PodLifecycle.state(of: pod(phase: nil)) == .creating)
        #expect(PodLifecycle.state(of: pod(phase: "Pending")) == .creating)
        #expect(PodLifecycle.state(of: pod(phase: "Running")) == .creating)
        #expect(PodLifecycle.state(of: pod(phase: "Running", ip: "10.1.2.3")) == .ready)
        #expect(PodLifecycle.state(of: pod(phase: "Running", ip: "10.1.2.3", deleting: true)) == .stopping)
        #expect(PodLifecycle.state(of: pod(phase: "Succeeded")) == .gone)
        #expect(PodLifecycle.state(of: pod(phase: "Failed", reason: "Evicted")) == .gone)
        #expect(PodLifecycle.state(of: pod(phase: "Unknown")) == .gone)
        #expect(PodLifecycle.fatalProblem(of: pod(phase: "Failed", reason: "Evicted"))?.contains("Evicted") == true)
        #expect(PodLifecycle.fatalProblem(of: pod(phase: "Pending")) == nil)
    }

    @Test func sessionIdsThatCannotNameAPodAreRecognised() {
        #expect(ObjectNames.isDNSLabel("s-0123abcd"))
        #expect(ObjectNames.isDNSLabel(String(repeating: "a", count: 63)))
        #expect(!ObjectNames.isDNSLabel("-leading"))
        #expect(!ObjectNames.isDNSLabel("trailing-"))
        #expect(!ObjectNames.isDNSLabel(String(repeating: "a", count: 64)))
    }

    @Test func apiErrorsAreClassifiedWithTheServersMessage() {
        func error(_ status: Int, reason: String? = nil, causes: [APIStatus.Cause]? = nil) -> KubernetesAPIError {
            var body = APIStatus(message: "the message", reason: reason, code: status)
            if let causes { body.details = .init(name: nil, kind: nil, causes: causes, retryAfterSeconds: nil) }
            return KubernetesAPIError.from(status: status, body: body, operation: "create pods/s-1 in namespace n")
        }
        #expect(error(409, reason: "AlreadyExists").kind == .alreadyExists)
        #expect(error(409, reason: "Conflict").kind == .conflict)
        #expect(error(404).kind == .notFound)
        #expect(error(422).kind == .invalid)
        #expect(error(403).kind == .forbidden)
        #expect(error(401).kind == .unauthorized)
        #expect(error(429).kind == .tooManyRequests && error(429).isRetryable)
        #expect(error(503).kind == .serverError && error(500).isRetryable)
        #expect(!error(403).isRetryable && !error(422).isRetryable && !error(409).isRetryable)
        #expect("\(error(403))".contains("10-rbac.yaml"))
        let invalid = error(422, causes: [.init(reason: "FieldValueInvalid", message: "must be a quantity", field: "spec.containers[0].resources.limits.memory")])
        #expect("\(invalid)".contains("spec.containers[0].resources.limits.memory: must be a quantity"))
        #expect("\(invalid)".hasPrefix("create pods/s-1 in namespace n: rejected as invalid (422)"))
    }

    @Test func retriesAreBoundedAndHonourRetryAfter() {
        let policy = RetryPolicy(maxAttempts: 3)
        let far = ContinuousClock.now + .seconds(3600)
        let throttled = KubernetesAPIError(.tooManyRequests, status: 429, operation: "o", message: "m")
        #expect(policy.pause(after: throttled, attempt: 1, retryAfterSeconds: 7, deadline: far) == .seconds(7))
        #expect(policy.pause(after: throttled, attempt: 1, retryAfterSeconds: 3600, deadline: far) == .seconds(30))
        #expect(policy.pause(after: throttled, attempt: 3, retryAfterSeconds: 1, deadline: far) == nil)
        #expect(policy.pause(after: throttled, attempt: 1, retryAfterSeconds: 7, deadline: ContinuousClock.now + .seconds(2)) == nil)
        let server = KubernetesAPIError(.serverError, status: 503, operation: "o", message: "m")
        let pause = policy.pause(after: server, attempt: 2, retryAfterSeconds: nil, deadline: far)
        #expect(pause.map { $0 >= .milliseconds(100) && $0 <= .milliseconds(200) } == true)
        #expect(policy.pause(after: KubernetesAPIError(.forbidden, status: 403, operation: "o", message: "m"), attempt: 1, retryAfterSeconds: nil, deadline: far) == nil)
    }
}
