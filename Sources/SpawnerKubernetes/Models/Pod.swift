import SpawnerCore
/// core/v1 Pod: one per session, runnerd as PID 1 of its only container.
public struct Pod: KubernetesObject, Equatable {
    public static let apiVersion = "v1"
    public static let kind = "Pod"
    public static let resource = "pods"

    public var apiVersion = Pod.apiVersion
    public var kind = Pod.kind
    public var metadata: ObjectMeta
    public var spec: PodSpec
    /// Written by the kubelet; never sent on a create.
    public var status: PodStatus?

    public init(metadata: ObjectMeta, spec: PodSpec) {
        self.metadata = metadata
        self.spec = spec
    }
}

public struct PodSpec: Codable, Equatable, Sendable {
    public var containers: [Container]
    public var volumes: [Volume]?
    /// `Never`: a sandbox whose runnerd ended is over (its session is gone), never restarted
    /// with a fresh state under the same token.
    public var restartPolicy: String?
    public var automountServiceAccountToken: Bool?
    /// No `*_SERVICE_HOST` variables of the namespace's Services in the sandbox.
    public var enableServiceLinks: Bool?
    public var securityContext: PodSecurityContext?
    public var terminationGracePeriodSeconds: Int?
    public var nodeSelector: [String: String]?
    /// `false`: the Pod gets a user namespace (root in the Pod is an unprivileged uid on the node).
    public var hostUsers: Bool?

    public init(containers: [Container]) { self.containers = containers }
}

public struct PodSecurityContext: Codable, Equatable, Sendable {
    public var runAsNonRoot: Bool?
    public var runAsUser: Int?
    public var seccompProfile: SeccompProfile?
    public init() {}
}

public struct SeccompProfile: Codable, Equatable, Sendable {
    /// `RuntimeDefault`, `Localhost`, `Unconfined`.
    public var type: String
    public init(type: String) { self.type = type }
}

public struct Container: Codable, Equatable, Sendable {
    public var name: String
    public var image: String
    public var imagePullPolicy: String?
    public var command: [String]?
    public var args: [String]?
    public var env: [EnvVar]?
    public var ports: [ContainerPort]?
    public var resources: ResourceRequirements?
    public var securityContext: SecurityContext?
    public var volumeMounts: [VolumeMount]?
    public var readinessProbe: Probe?
    public var workingDir: String?

    public init(name: String, image: String) {
        self.name = name
        self.image = image
    }
}

public struct EnvVar: Codable, Equatable, Sendable {
    public var name: String
    public var value: String?
    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

public struct ContainerPort: Codable, Equatable, Sendable {
    public var name: String?
    public var containerPort: Int
    public var `protocol`: String?
    public init(name: String?, containerPort: Int) {
        self.name = name
        self.containerPort = containerPort
        self.protocol = "TCP"
    }
}

/// Quantities as the API writes them (`500m`, `1Gi`).
public struct ResourceRequirements: Codable, Equatable, Sendable {
    public var requests: [String: String]?
    public var limits: [String: String]?
    public init(requests: [String: String]?, limits: [String: String]?) {
        self.requests = requests
        self.limits = limits
    }
}

public struct SecurityContext: Codable, Equatable, Sendable {
    public var privileged: Bool?
    public var allowPrivilegeEscalation: Bool?
    public var readOnlyRootFilesystem: Bool?
    public var runAsUser: Int?
    public var runAsNonRoot: Bool?
    public var capabilities: Capabilities?
    public var seccompProfile: SeccompProfile?
    public init() {}
}

public struct Capabilities: Codable, Equatable, Sendable {
    public var add: [String]?
    public var drop: [String]?
    public init(add: [String]?, drop: [String]?) {
        self.add = add
        self.drop = drop
    }
}

public struct VolumeMount: Codable, Equatable, Sendable {
    public var name: String
    public var mountPath: String
    public var readOnly: Bool?
    public init(name: String, mountPath: String, readOnly: Bool? = nil) {
        self.name = name
        self.mountPath = mountPath
        self.readOnly = readOnly
    }
}

public struct Volume: Codable, Equatable, Sendable {
    public var name: String
    public var secret: SecretVolumeSource?
    public var persistentVolumeClaim: PVCVolumeSource?
    public var emptyDir: EmptyDirVolumeSource?
    public init(name: String) { self.name = name }
}

public struct SecretVolumeSource: Codable, Equatable, Sendable {
    public var secretName: String
    /// Octal 0400 is 256: JSON has no octal.
    public var defaultMode: Int?
    public var items: [KeyToPath]?
    public init(secretName: String, defaultMode: Int?, items: [KeyToPath]?) {
        self.secretName = secretName
        self.defaultMode = defaultMode
        self.items = items
    }
}

public struct KeyToPath: Codable, Equatable, Sendable {
    public var key: String
    public var path: String
    public var mode: Int?
    public init(key: String, path: String, mode: Int?) {
        self.key = key
        self.path = path
        self.mode = mode
    }
}

public struct PVCVolumeSource: Codable, Equatable, Sendable {
    public var claimName: String
    public init(claimName: String) { self.claimName = claimName }
}

public struct EmptyDirVolumeSource: Codable, Equatable, Sendable {
    /// `Memory` for tmpfs; nil for the node's disk.
    public var medium: String?
    public var sizeLimit: String?
    public init(medium: String? = nil, sizeLimit: String? = nil) {
        self.medium = medium
        self.sizeLimit = sizeLimit
    }
}

public struct Probe: Codable, Equatable, Sendable {
    public var httpGet: HTTPGetAction?
    public var periodSeconds: Int?
    public var timeoutSeconds: Int?
    public var failureThreshold: Int?
    public init(httpGet: HTTPGetAction?, periodSeconds: Int?, timeoutSeconds: Int? = nil, failureThreshold: Int? = nil) {
        self.httpGet = httpGet
        self.periodSeconds = periodSeconds
        self.timeoutSeconds = timeoutSeconds
        self.failureThreshold = failureThreshold
    }
}

public struct HTTPGetAction: Codable, Equatable, Sendable {
    public var path: String
    public var port: Int
    public init(path: String, port: Int) {
        self.path = path
        self.port = port
    }
}
