import HTTPTypes
import Hummingbird
import NIOCore
import RunnerProtocol
import SystemSupport

/// Verifies the contract's HMAC-SHA256 signature of every request of the group it is on:
/// method, path with query exactly as sent, timestamp within ±5 minutes, SHA-256 of the body
/// exactly as received; compared in constant time (`HMACSigner.verify`). The verified request
/// goes into the context; anything else is `401`.
struct SignatureMiddleware: RouterMiddleware {
    typealias Context = SpawnerRequestContext

    let signer: HMACSigner
    let now: @Sendable () -> Int64

    init(signer: HMACSigner, now: @escaping @Sendable () -> Int64 = { Syscall.nowMs() }) {
        self.signer = signer
        self.now = now
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let timestamp = request.headers[values: .spawnerTimestamp].first
        let signature = request.headers[values: .spawnerSignature].first
        // Refuse unsigned requests before reading a byte of their body.
        guard timestamp != nil, signature != nil else { throw SpawnerError.unauthorized("missing signature headers") }
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: Limits.maxRequestBodyBytes)
        } catch is NIOTooManyBytesError {
            throw SpawnerError.payloadTooLarge
        }
        let verdict = signer.verify(
            method: request.method.rawValue, pathWithQuery: request.head.path ?? "", timestampHeader: timestamp,
            signatureHeader: signature, body: body.readableBytesView, nowMs: now())
        switch verdict {
        case .success:
            var context = context
            context.signedRequest = SignedRequest(timestampMs: Int64(timestamp!) ?? 0, body: body)
            return try await next(request, context)
        case .failure(let rejection):
            throw SpawnerError.unauthorized(Self.describe(rejection))
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

extension HTTPField.Name {
    static let spawnerTimestamp = HTTPField.Name(HMACSigner.timestampHeader)!
    static let spawnerSignature = HTTPField.Name(HMACSigner.signatureHeader)!
    static let lastEventID = HTTPField.Name("Last-Event-ID")!
}
