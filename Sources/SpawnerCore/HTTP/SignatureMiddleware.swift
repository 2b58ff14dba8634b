import HTTPTypes
import Hummingbird
import NIOCore
import RunnerProtocol
import SystemSupport

/// Verifies the contract's HMAC-SHA256 signature of every request of the group it is on and
/// puts the verified caller into the context; anything else is `401`.
///
/// What can be judged on the head is judged there, before a byte of the body is read, and a
/// request that fails it is answered and its connection closed (the body is never read):
/// 1. both headers, a timestamp within ±5 minutes, a signature of the right shape, a
///    well-formed `X-Spawner-Content-SHA256` if sent (`401`);
/// 2. a declared length within the contract's 4 MiB (`413`);
/// 3. with `X-Spawner-Content-SHA256`: the signature itself, computed with the header's hash
///    (`401`), and that it was not accepted before (`401 replayed`; `ReplayCache`);
///    without it: a share of the body budget for what it declares, within the client
///    address's share (`503`, retry): requests that cannot be proven before their body is in
///    cannot make the spawner hold more than `BodyBudget.limit` at once, nor one address
///    more than its share.
/// Then the body is read, within `bodyTimeout` (else the connection is closed), and checked:
/// against the head's hash, or (no header) the signature over method, path with query exactly
/// as sent, timestamp and body, in constant time (`HMACSigner`), then the replay check; a
/// mismatch is `401` and closes the connection too.
struct SignatureMiddleware: RouterMiddleware {
    typealias Context = SpawnerRequestContext

    let signer: HMACSigner
    let bodies: BodyBudget
    let replays: ReplayCache
    let bodyTimeout: Duration
    let now: @Sendable () -> Int64

    init(
        signer: HMACSigner, bodies: BodyBudget, replays: ReplayCache, bodyTimeout: Duration,
        now: @escaping @Sendable () -> Int64 = { Syscall.nowMs() }
    ) {
        self.signer = signer
        self.bodies = bodies
        self.replays = replays
        self.bodyTimeout = bodyTimeout
        self.now = now
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let claim: HMACSigner.Claim
        switch signer.claim(
            timestampHeader: request.headers[values: .spawnerTimestamp].first, signatureHeader: request.headers[values: .spawnerSignature].first,
            contentDigestHeader: request.headers[values: .spawnerContentDigest].first, nowMs: now())
        {
        case .success(let value): claim = value
        case .failure(let rejection): throw SpawnerError.unauthorized(Self.describe(rejection)).closingConnection()
        }
        let method = request.method.rawValue
        let pathWithQuery = request.head.path ?? ""

        let declared = DeclaredBody(request.headers)
        if case .length(let length) = declared, length > Limits.maxRequestBodyBytes { throw SpawnerError.payloadTooLarge.closingConnection() }

        var request = request
        let body: ByteBuffer
        if claim.contentDigest != nil {
            // Proven on the head: a forgery is answered before a byte of its body is read.
            if case .failure(let rejection) = signer.verifyHead(claim, method: method, pathWithQuery: pathWithQuery) {
                throw SpawnerError.unauthorized(Self.describe(rejection)).closingConnection()
            }
            try Self.admit(claim, validForMs: HMACSigner.maxSkewMs, replays: replays, nowMs: now())
            body = try await collectBody(&request, context: context)
            if case .failure(let rejection) = signer.verifyBody(claim, body: body.readableBytesView) {
                throw SpawnerError.unauthorized(Self.describe(rejection)).closingConnection()
            }
        } else {
            let share: Int
            switch declared {
            case .none: share = 0
            case .length(let length): share = length
            case .unknown: share = Limits.maxRequestBodyBytes
            }
            let client = ClientKey(context.channel.remoteAddress)
            guard bodies.reserve(share, for: client) else {
                throw SpawnerError(.busy, "too many request bodies without \(HMACSigner.contentDigestHeader) are being read; retry")
                    .closingConnection()
            }
            defer { bodies.release(share, for: client) }
            body = try await collectBody(&request, context: context)
            if case .failure(let rejection) = signer.verify(claim, method: method, pathWithQuery: pathWithQuery, body: body.readableBytesView) {
                throw SpawnerError.unauthorized(Self.describe(rejection)).closingConnection()
            }
            try Self.admit(claim, validForMs: HMACSigner.maxSkewMs, replays: replays, nowMs: now())
        }
        var context = context
        context.caller = VerifiedCaller(timestampMs: claim.timestampMs, body: body)
        return try await next(request, context)
    }

    /// Accepts a verified signature once: `401 replayed` the second time while its timestamp
    /// (`validForMs` after it) could still be accepted, `503` when the cache is full.
    static func admit(_ claim: HMACSigner.Claim, validForMs: Int64, replays: ReplayCache, nowMs: Int64) throws {
        switch replays.admit(claim.signatureBytes, expiresAtMs: claim.timestampMs.addingSaturated(validForMs), nowMs: nowMs) {
        case .fresh: return
        case .replayed: throw SpawnerError.unauthorized("replayed").closingConnection()
        case .full: throw SpawnerError(.busy, "too many signed requests in the last minutes; retry").closingConnection()
        }
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
        case .malformedContentDigest: "malformed \(HMACSigner.contentDigestHeader)"
        case .contentMismatch: "the body does not match \(HMACSigner.contentDigestHeader)"
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
    static let spawnerContentDigest = HTTPField.Name(HMACSigner.contentDigestHeader)!
    static let lastEventID = HTTPField.Name("Last-Event-ID")!
}
