/// Addition to `GET /healthz`: the confinement in effect in this sandbox, so that a missing
/// measure is reported rather than silently absent.
public struct Confinement: Codable, Equatable, Sendable {
    /// The sandbox's network confinement (docs/docker.md): `confined` when runnerd installed
    /// the policy the backend asked for in its network namespace and gave up the capability to
    /// change it; `none` when no policy was asked for (the local backend, a bare container).
    public var network: Network?

    public enum Network: String, Codable, Equatable, Sendable {
        case confined, none
    }

    public init(network: Network? = nil) {
        self.network = network
    }
}
