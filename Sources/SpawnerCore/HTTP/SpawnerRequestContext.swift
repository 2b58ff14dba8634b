import Hummingbird
import Logging
import NIOCore
import RunnerProtocol

/// The request context of the spawner's routes: Hummingbird's core storage, the connection
/// the request came on, and the caller the signature middleware verified.
public struct SpawnerRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The client's connection: exec streams are relayed onto it from runnerd's, on its event loop.
    public let channel: any Channel
    /// Set by `SignatureMiddleware` on every `/v1` request that reaches a handler.
    public var caller: VerifiedCaller?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }

    /// Bodies are collected (and hashed) by the signature middleware up to the contract's limit.
    public var maxUploadSize: Int { RunnerProtocol.Limits.maxRequestBodyBytes }

    /// Has the connection closed once the answer to this request is written (Hummingbird's
    /// connection handler does so on a quiesce event while a request is in progress), instead
    /// of reading the rest of the request's body to keep it alive.
    func closeConnectionAfterResponse() {
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
    }
}

/// A request whose HMAC signature was verified: the holder of the secret, at `timestampMs`,
/// and its body, exactly the bytes that were hashed.
public struct VerifiedCaller: Sendable {
    public var timestampMs: Int64
    public var body: ByteBuffer

    /// The body as an array, for forwarding.
    var bodyBytes: [UInt8] { Array(body.readableBytesView) }
}
