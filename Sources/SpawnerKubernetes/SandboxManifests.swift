import RunnerProtocol
import SpawnerCore

/// The objects of one session: its Pod (runnerd as PID 1), the Secret with runnerd's token,
/// and, when the profile asks for storage, the workspace's PersistentVolumeClaim.
///
/// The token reaches runnerd only as a file: a Secret volume whose one file is mode 0400
/// (root-only; runnerd is uid 0 and refuses a token file others can read), mounted outside the
/// workspace, named by `RUNNERD_TOKEN_FILE`. Never an env value, an argument, a label or an
/// annotation.
struct SandboxManifests: Sendable {
    let settings: KubernetesSettings
    let runnerdKillGraceMs: Int64
    let runnerdLogLevel: String

    static let containerName = "runnerd"
    /// runnerd's path in the sandbox image (`Dockerfile.runtime`).
    static let runnerdPath = "/usr/local/bin/runnerd"
    static let tokenDirectory = "/run/runnerd"
    static let tokenKey = "token"
    static let workspacePath = "/agent"
    /// runnerd's exec journal: its own volume, out of the workspace (and so out of a kept
    /// claim, which a later session of the same id gets back without the old journal).
    static let stateVolumePath = "/var/lib/runnerd"
    /// Mode 0400 (JSON has no octal).
    static let tokenFileMode = 0o400

    /// What runnerd needs besides an empty set, all of it to confine agents or serve the
    /// files API (`docs/kubernetes.md` explains each): switch the agent's uid and gid
    /// (SETUID, SETGID), empty the agents' bounding set (SETPCAP), hand the workspace and
    /// staged files to the agent uid (CHOWN), read and write agent-owned files as root
    /// (DAC_OVERRIDE, FOWNER), signal agent processes of another uid (KILL).
    static let capabilities = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "SETGID", "SETPCAP", "SETUID"]

    /// The Pod's grace after SIGTERM: runnerd's own grace for its execs, and a margin.
    var terminationGraceSeconds: Int { Int((runnerdKillGraceMs + 999) / 1000) + 5 }

    func pod(_ spec: SandboxSpec, profile: SandboxProfile, createId: String) -> Pod {
        let session = spec.labels
        var container = Container(name: Self.containerName, image: session.image ?? settings.image)
        container.imagePullPolicy = settings.imagePullPolicy
        container.command = [Self.runnerdPath]
        container.env = [
            EnvVar("RUNNERD_LISTEN", "0.0.0.0:\(settings.runnerdPort)"),
            EnvVar("RUNNERD_WORKSPACE", Self.workspacePath),
            EnvVar("RUNNERD_TOKEN_FILE", Self.tokenDirectory + "/" + Self.tokenKey),
            EnvVar("RUNNERD_STATE_DIR", Self.stateVolumePath + "/state"),
            EnvVar("RUNNERD_KILL_GRACE_MS", String(runnerdKillGraceMs)),
            EnvVar("RUNNERD_LOG_LEVEL", runnerdLogLevel),
        ]
        // The session's own agent uid and gid (runnerd switches agents to it; runnerd itself
        // stays uid 0, which the switch needs: see docs/kubernetes.md).
        if let uid = session.agentUID { container.env?.append(EnvVar("RUNNERD_AGENT_UID", "\(uid):\(uid)")) }
        container.ports = [ContainerPort(name: "runnerd", containerPort: settings.runnerdPort)]
        container.resources = profile.resources
        container.volumeMounts = [
            VolumeMount(name: "runnerd-token", mountPath: Self.tokenDirectory, readOnly: true),
            VolumeMount(name: "workspace", mountPath: Self.workspacePath),
            VolumeMount(name: "runnerd-state", mountPath: Self.stateVolumePath),
            VolumeMount(name: "tmp", mountPath: "/tmp"),
        ]
        container.readinessProbe = Probe(httpGet: HTTPGetAction(path: "/readyz", port: settings.runnerdPort), periodSeconds: 5, timeoutSeconds: 2)
        var security = SecurityContext()
        security.privileged = false
        // runnerd sets no_new_privs itself when it installs the agents' seccomp filter; the
        // flag here makes it hold from the container's first instruction.
        security.allowPrivilegeEscalation = false
        security.readOnlyRootFilesystem = true
        // uid 0 with the capabilities above, and nothing else: an agent uid switch needs it.
        security.runAsUser = 0
        security.runAsNonRoot = false
        security.capabilities = Capabilities(add: Self.capabilities, drop: ["ALL"])
        container.securityContext = security

        var token = Volume(name: "runnerd-token")
        token.secret = SecretVolumeSource(
            secretName: ObjectNames.secret(session.sessionId), defaultMode: Self.tokenFileMode,
            items: [KeyToPath(key: Self.tokenKey, path: Self.tokenKey, mode: Self.tokenFileMode)])
        var workspace = Volume(name: "workspace")
        if profile.workspace != nil {
            workspace.persistentVolumeClaim = PVCVolumeSource(claimName: ObjectNames.workspace(session.sessionId))
        } else {
            workspace.emptyDir = EmptyDirVolumeSource(sizeLimit: profile.emptyDirSizeLimit)
        }
        var state = Volume(name: "runnerd-state")
        state.emptyDir = EmptyDirVolumeSource(sizeLimit: "1Gi")
        var tmp = Volume(name: "tmp")
        tmp.emptyDir = EmptyDirVolumeSource(sizeLimit: "1Gi")

        var podSpec = PodSpec(containers: [container])
        podSpec.volumes = [token, workspace, state, tmp]
        podSpec.restartPolicy = "Never"
        podSpec.automountServiceAccountToken = false
        podSpec.enableServiceLinks = false
        podSpec.terminationGracePeriodSeconds = terminationGraceSeconds
        podSpec.nodeSelector = profile.nodeSelector
        if settings.userNamespaces { podSpec.hostUsers = false }
        var podSecurity = PodSecurityContext()
        podSecurity.seccompProfile = SeccompProfile(type: "RuntimeDefault")
        podSpec.securityContext = podSecurity

        let metadata = ObjectMeta(
            name: ObjectNames.pod(session.sessionId), labels: SandboxMetadata.labels(session, egress: profile.egress == true),
            annotations: SandboxMetadata.annotations(session, createId: createId))
        return Pod(metadata: metadata, spec: podSpec)
    }

    /// The token's Secret, owned by the Pod: deleting the Pod collects it.
    func secret(_ spec: SandboxSpec, owner: Pod, createId: String) -> Secret {
        let metadata = ObjectMeta(
            name: ObjectNames.secret(spec.labels.sessionId), labels: SandboxMetadata.labels(spec.labels, egress: false),
            annotations: SandboxMetadata.annotations(spec.labels, createId: createId), ownerReferences: [Self.reference(to: owner)])
        return Secret(metadata: metadata, data: [Self.tokenKey: Base64.encode(Array(spec.runnerdToken.utf8))])
    }

    /// The workspace claim: owned by the Pod unless the profile keeps it.
    func workspaceClaim(_ spec: SandboxSpec, claim: SandboxProfile.WorkspaceClaim, owner: Pod, createId: String) -> PersistentVolumeClaim {
        let keep = claim.keep == true
        var annotations = SandboxMetadata.annotations(spec.labels, createId: createId)
        if keep { annotations[SandboxMetadata.keepAnnotation] = "true" }
        let metadata = ObjectMeta(
            name: ObjectNames.workspace(spec.labels.sessionId), labels: SandboxMetadata.labels(spec.labels, egress: false),
            annotations: annotations, ownerReferences: keep ? nil : [Self.reference(to: owner)])
        return PersistentVolumeClaim(metadata: metadata, spec: .init(storageClassName: claim.storageClassName, storage: claim.size))
    }

    static func reference(to pod: Pod) -> OwnerReference {
        OwnerReference(apiVersion: Pod.apiVersion, kind: Pod.kind, name: pod.name, uid: pod.metadata.uid ?? "")
    }
}
