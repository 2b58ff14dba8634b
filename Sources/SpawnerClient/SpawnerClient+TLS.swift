import AsyncHTTPClient
import NIOCore
import NIOSSL

/// A spawner served over HTTPS (`SPAWNER_TLS_CERT`): its certificate is verified against a CA
/// file when one is given (`SPAWNER_CA_FILE`, `--ca-file`), else against the system's trust
/// store; the host name must match it.
extension SpawnerClient {
    /// The client side of TLS: full verification, trusting `caFile` (PEM) alone when given.
    public static func tlsConfiguration(caFile: String?) -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .fullVerification
        if let caFile { configuration.trustRoots = .file(caFile) }
        return configuration
    }

    /// An HTTP client for the spawner with `tlsConfiguration` (shut it down when done, unless it
    /// lives as long as the process). `retryConnectionEstablishment` off: a spawner that is
    /// not there is reported at once instead of after the connect timeout. Redirects are not
    /// followed: following one would send the same signature again, elsewhere.
    public static func makeHTTPClient(tlsConfiguration: TLSConfiguration?, connectTimeout: TimeAmount = .seconds(10)) -> HTTPClient {
        var configuration = HTTPClient.Configuration.singletonConfiguration
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = connectTimeout
        configuration.tlsConfiguration = tlsConfiguration
        configuration.redirectConfiguration = .disallow
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }
}
