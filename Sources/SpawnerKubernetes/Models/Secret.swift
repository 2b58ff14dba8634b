import SpawnerCore
/// core/v1 Secret: the backend keeps one per session, holding runnerd's token.
public struct Secret: KubernetesObject, Equatable {
    public static let apiVersion = "v1"
    public static let kind = "Secret"
    public static let resource = "secrets"

    public var apiVersion = Secret.apiVersion
    public var kind = Secret.kind
    public var metadata: ObjectMeta
    public var type: String?
    /// Values base64-encoded, as the API carries them.
    public var data: [String: String]?
    /// No one can change the token after the create.
    public var immutable: Bool?

    public init(metadata: ObjectMeta, type: String? = "Opaque", data: [String: String]?, immutable: Bool? = true) {
        self.metadata = metadata
        self.type = type
        self.data = data
        self.immutable = immutable
    }
}
