import SpawnerCore
/// core/v1 PersistentVolumeClaim: a session's workspace when its profile asks for storage.
public struct PersistentVolumeClaim: KubernetesObject, Equatable {
    public static let apiVersion = "v1"
    public static let kind = "PersistentVolumeClaim"
    public static let resource = "persistentvolumeclaims"

    public var apiVersion = PersistentVolumeClaim.apiVersion
    public var kind = PersistentVolumeClaim.kind
    public var metadata: ObjectMeta
    public var spec: Spec
    public var status: Status?

    public struct Spec: Codable, Equatable, Sendable {
        public var accessModes: [String]
        /// nil: the cluster's default class.
        public var storageClassName: String?
        public var resources: Resources

        public init(accessModes: [String] = ["ReadWriteOnce"], storageClassName: String?, storage: String) {
            self.accessModes = accessModes
            self.storageClassName = storageClassName
            self.resources = Resources(requests: ["storage": storage])
        }
    }

    public struct Resources: Codable, Equatable, Sendable {
        public var requests: [String: String]
    }

    public struct Status: Codable, Equatable, Sendable {
        /// `Pending`, `Bound`, `Lost`.
        public var phase: String?
    }

    public init(metadata: ObjectMeta, spec: Spec) {
        self.metadata = metadata
        self.spec = spec
    }
}
