import Hummingbird
import Logging
import RunnerProtocol

/// The request context of the spawner's routes: Hummingbird's core storage plus what the
/// signature middleware verified.
public struct SpawnerRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by `SignatureMiddleware` on every `/v1` request that reaches a handler.
    public var signedRequest: SignedRequest?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
    }

    /// Bodies are collected (and hashed) by the signature middleware up to the contract's limit.
    public var maxUploadSize: Int { RunnerProtocol.Limits.maxRequestBodyBytes }
}

/// A request whose HMAC signature was verified: its timestamp and its body, exactly the bytes
/// that were hashed.
public struct SignedRequest: Sendable {
    public var timestampMs: Int64
    public var body: ByteBuffer

    /// The body as an array, for forwarding.
    var bodyBytes: [UInt8] { Array(body.readableBytesView) }
}
