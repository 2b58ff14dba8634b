import HTTPTypes
import Hummingbird
import NIOCore
import RunnerProtocol
import SystemSupport

/// Verifies the contract's HMAC-SHA256 signature of every request of the group it is on and
/// puts the verified caller into the context; anything else is `401`.
///
/// The signature covers the body's hash, so it can only be proven once the body is in. What
/// can be judged on the head is judged there, before a byte of the body is read, and a
/// request that fails it is answered and its connection closed (the body is never read):
/// 1. both headers, a timestamp within ±5 minutes, a signature of the right shape (`401`);
/// 2. a declared length within the contract's 4 MiB (`413`);
/// 3. a share of the body budget for what it declares (`503`, retry): forged but well-formed
///    requests cannot make the spawner hold more than `BodyBudget.limit` at once.
/// Then the body is read, within `bodyTimeout` (else the connection is closed), and the
/// signature checked over method, path with query exactly as sent, timestamp and body, in
/// constant time (`HMACSigner`); a mismatch is `401` and closes the connection too.
struct SignatureMiddleware: RouterMiddleware {
    typealias Context = SpawnerRequestContext

    let signer: HMACSigner
    let bodies: BodyBudget
    let bodyTimeout: Duration
    let now: @Sendable () -> Int64

    init(signer: HMACSigner, bodies: BodyBudget, bodyTimeout: Duration, now: @escaping @Sendable () -> Int64 = { Syscall.nowMs() }) {
        self.signer = signer
        self.bodies = bodies
        self.bodyTimeout = bodyTimeout
        self.now = now
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let claim: HMACSigner.Claim
        switch signer.claim(
            timestampHeader: request.headers[values: .spawnerTimestamp].first, signatureHeader: request.headers[values: .spawnerSignature].first,
            nowMs: now())
        {
        case .success(let value): claim = value
        case .failure(let rejection): throw SpawnerError.unauthorized(Self.describe(rejection)).closingConnection()
        }

        let share: Int
        switch DeclaredBody(request.headers) {
        case .none: share = 0
        case .length(let length) where length > Limits.maxRequestBodyBytes: throw SpawnerError.payloadTooLarge.closingConnection()
        case .length(let length): share = length
        case .unknown: share = Limits.maxRequestBodyBytes
        }
        guard bodies.reserve(share) else {
            throw SpawnerError(.busy, "too many request bodies are being read; retry").closingConnection()
        }
        defer { bodies.release(share) }

        var request = request
        let body = try await collectBody(&request, context: context)
        guard case .success = signer.verify(claim, method: request.method.rawValue, pathWithQuery: request.head.path ?? "", body: body.readableBytesView)
        else { throw SpawnerError.unauthorized(Self.describe(.badSignature)).closingConnection() }
        var context = context
        context.caller = VerifiedCaller(timestampMs: claim.timestampMs, body: body)
        return try await next(request, context)
    }

    /// The whole body; a body still incomplete after `bodyTimeout` has its connection closed
    /// (the read then fails), so a slow sender holds neither a budget share nor a task for long.
    private func collectBody(_ request: inout Request, context: Context) async throws -> ByteBuffer {
        let channel = context.channel
        let timer = channel.eventLoop.scheduleTask(in: .nanoseconds(bodyTimeout.nanoseconds)) { channel.close(promise: nil) }
        defer { timer.cancel() }
        do {
            return try await request.collectBody(upTo: Limits.maxRequestBodyBytes)
        } catch is NIOTooManyBytesError {
            throw SpawnerError.payloadTooLarge.closingConnection()
        } catch {
            throw SpawnerError(.requestTimeout, "the body did not arrive in time").closingConnection()
        }
    }

    static func describe(_ rejection: HMACSigner.Rejection) -> String {
        switch rejection {
        case .missing: "missing signature headers"
        case .malformedTimestamp: "malformed timestamp"
        case .stale: "timestamp too old"
        case .future: "timestamp too far in the future"
        case .badSignature: "bad signature"
        }
    }
}

/// What a request's head says about its body.
enum DeclaredBody: Equatable {
    /// No `Content-Length`, no `Transfer-Encoding`: no body (HTTP/1.1).
    case none
    case length(Int)
    /// Chunked: its length is known once it is read.
    case unknown

    init(_ headers: HTTPFields) {
        if headers[.transferEncoding] != nil {
            self = .unknown
        } else if let value = headers[.contentLength] {
            // NIO's parser has already refused a malformed length; a huge one is just too large.
            self = .length(Int(value) ?? Int.max)
        } else {
            self = .none
        }
    }
}

extension HTTPField.Name {
    static let spawnerTimestamp = HTTPField.Name(HMACSigner.timestampHeader)!
    static let spawnerSignature = HTTPField.Name(HMACSigner.signatureHeader)!
    static let lastEventID = HTTPField.Name("Last-Event-ID")!
}
