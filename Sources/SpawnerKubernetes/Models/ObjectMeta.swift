import SpawnerCore
// The Kubernetes object metadata the backend reads and writes (core/v1 and meta/v1 field
// names). Only the fields the backend uses are modelled; decoding ignores the rest.

/// `metadata` of an object.
public struct ObjectMeta: Codable, Equatable, Sendable {
    public var name: String?
    public var namespace: String?
    public var uid: String?
    public var resourceVersion: String?
    public var labels: [String: String]?
    public var annotations: [String: String]?
    public var ownerReferences: [OwnerReference]?
    /// RFC 3339, set by the API server.
    public var creationTimestamp: String?
    /// Set once a graceful deletion has begun.
    public var deletionTimestamp: String?

    public init(name: String? = nil, labels: [String: String]? = nil, annotations: [String: String]? = nil, ownerReferences: [OwnerReference]? = nil) {
        self.name = name
        self.labels = labels
        self.annotations = annotations
        self.ownerReferences = ownerReferences
    }
}

/// A dependant's link to its owner: the garbage collector deletes the dependant once the
/// owner is gone.
public struct OwnerReference: Codable, Equatable, Sendable {
    public var apiVersion: String
    public var kind: String
    public var name: String
    public var uid: String
    /// The owner's deletion waits for this dependant under foreground propagation.
    public var blockOwnerDeletion: Bool?
    public var controller: Bool?

    public init(apiVersion: String, kind: String, name: String, uid: String, blockOwnerDeletion: Bool? = nil, controller: Bool? = nil) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.name = name
        self.uid = uid
        self.blockOwnerDeletion = blockOwnerDeletion
        self.controller = controller
    }
}

/// `metadata` of a list.
public struct ListMeta: Codable, Equatable, Sendable {
    public var resourceVersion: String?
    /// Present when the server has more items: pass it back as `continue`.
    public var `continue`: String?
}

/// `{kind: "PodList", items: [...], metadata}` and the like.
public struct ObjectList<Item: Codable & Sendable>: Codable, Sendable {
    public var items: [Item]
    public var metadata: ListMeta?
}

/// An object type the backend stores through the REST API.
public protocol KubernetesObject: Codable, Sendable {
    /// `v1`.
    static var apiVersion: String { get }
    /// `Pod`.
    static var kind: String { get }
    /// The plural resource name of its REST path and of RBAC rules: `pods`.
    static var resource: String { get }
    var metadata: ObjectMeta { get set }
}

extension KubernetesObject {
    /// The object's name (every object the backend handles has one).
    public var name: String { metadata.name ?? "" }
}
