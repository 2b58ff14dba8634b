import SpawnerCore
/// `status` of a Pod, as the kubelet reports it.
public struct PodStatus: Codable, Equatable, Sendable {
    /// `Pending`, `Running`, `Succeeded`, `Failed`, `Unknown`.
    public var phase: String?
    public var podIP: String?
    /// Why the Pod is in this phase: `Evicted`, `NodeLost`, `DeadlineExceeded`, …
    public var reason: String?
    public var message: String?
    public var conditions: [PodCondition]?
    public var containerStatuses: [ContainerStatus]?
    public init() {}
}

public struct PodCondition: Codable, Equatable, Sendable {
    /// `PodScheduled`, `Initialized`, `ContainersReady`, `Ready`, `DisruptionTarget`, …
    public var type: String
    /// `True`, `False`, `Unknown`.
    public var status: String
    public var reason: String?
    public var message: String?
    public init(type: String, status: String, reason: String? = nil, message: String? = nil) {
        self.type = type
        self.status = status
        self.reason = reason
        self.message = message
    }
}

public struct ContainerStatus: Codable, Equatable, Sendable {
    public var name: String
    public var ready: Bool?
    public var restartCount: Int?
    public var state: ContainerState?
    public init(name: String) { self.name = name }
}

/// At most one of the three is set.
public struct ContainerState: Codable, Equatable, Sendable {
    public var waiting: Waiting?
    public var running: Running?
    public var terminated: Terminated?
    public init() {}

    public struct Waiting: Codable, Equatable, Sendable {
        /// `ContainerCreating`, `ErrImagePull`, `ImagePullBackOff`, `CreateContainerConfigError`, …
        public var reason: String?
        public var message: String?
        public init(reason: String?, message: String?) {
            self.reason = reason
            self.message = message
        }
    }

    public struct Running: Codable, Equatable, Sendable {
        public var startedAt: String?
        public init(startedAt: String?) { self.startedAt = startedAt }
    }

    public struct Terminated: Codable, Equatable, Sendable {
        public var exitCode: Int
        public var signal: Int?
        public var reason: String?
        public var message: String?
        public init(exitCode: Int, signal: Int? = nil, reason: String?, message: String?) {
            self.exitCode = exitCode
            self.signal = signal
            self.reason = reason
            self.message = message
        }
    }
}
