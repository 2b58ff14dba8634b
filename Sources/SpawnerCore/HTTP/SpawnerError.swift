import AsyncHTTPClient
import HTTPTypes
import Hummingbird
import NIOCore
import RunnerProtocol
import RunnerdClient

/// Every way a spawner request fails, and the one place it becomes an HTTP answer:
/// a status and an `ErrorBody` (`{"error": kind, "message": text}`).
public struct SpawnerError: Error, HTTPResponseError, CustomStringConvertible, Sendable {
    public let status: HTTPResponse.Status
    /// The `error` field of the body.
    public let kind: String
    public let message: String?

    init(_ status: HTTPResponse.Status, _ kind: String, _ message: String? = nil) {
        self.status = status
        self.kind = kind
        self.message = message
    }

    static func badRequest(_ message: String) -> SpawnerError { .init(.badRequest, SpawnerErrorKind.badRequest, message) }
    static func unauthorized(_ message: String) -> SpawnerError { .init(.unauthorized, SpawnerErrorKind.unauthorized, message) }
    static func sessionNotFound(_ id: String) -> SpawnerError { .init(.notFound, SpawnerErrorKind.notFound, "no session \(id)") }
    static func sessionTaken(_ id: String) -> SpawnerError { .init(.conflict, SpawnerErrorKind.conflict, "session id \(id) is taken") }
    static func sessionNotReady(_ id: String, _ state: SessionState) -> SpawnerError {
        .init(.conflict, SpawnerErrorKind.sessionNotReady, "session \(id) is \(state.rawValue)")
    }
    static func capReached(_ kind: String, _ message: String) -> SpawnerError { .init(.tooManyRequests, kind, message) }
    static func createFailed(_ failure: CreateFailure) -> SpawnerError {
        .init(failure.timedOut ? .gatewayTimeout : .internalServerError, SpawnerErrorKind.createFailed, failure.description)
    }
    static func badGateway(_ message: String) -> SpawnerError { .init(.badGateway, SpawnerErrorKind.badGateway, message) }
    static let payloadTooLarge = SpawnerError(.contentTooLarge, SpawnerErrorKind.payloadTooLarge, "request body exceeds \(Limits.maxRequestBodyBytes) bytes")

    public var body: ErrorBody { ErrorBody(error: kind, message: message) }

    public var description: String { "\(status.code) \(kind)\(message.map { ": \($0)" } ?? "")" }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        JSONResponse.make(status, body)
    }

    /// Any error thrown while answering, as the answer the client gets.
    static func from(_ error: any Error) -> SpawnerError {
        switch error {
        case let error as SpawnerError:
            return error
        case let error as HTTPError:
            switch error.status {
            case .notFound: return .init(.notFound, SpawnerErrorKind.notFound, "no such route")
            case .contentTooLarge: return .payloadTooLarge
            case .unauthorized: return .unauthorized(error.body ?? "unauthorized")
            default:
                let kind = error.status.code < 500 ? SpawnerErrorKind.badRequest : SpawnerErrorKind.internalError
                return .init(error.status, kind, error.body ?? error.status.reasonPhrase)
            }
        case is NIOTooManyBytesError:
            return .payloadTooLarge
        case let error as RunnerdClientError:
            return .badGateway("runnerd: \(error)")
        case let error as HTTPClientError:
            return .badGateway("runnerd unreachable: \(error)")
        default:
            return .init(.internalServerError, SpawnerErrorKind.internalError, "\(error)")
        }
    }
}

/// Turns every error below it into `SpawnerError`'s JSON answer, so no route or middleware
/// answers an error its own way.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let mapped = SpawnerError.from(error)
            if mapped.status.code >= 500 {
                context.logger.error("request failed", metadata: ["error": "\(mapped)", "path": "\(request.uri.path)"])
            }
            return mapped.body.response(status: mapped.status)
        }
    }
}

extension ErrorBody {
    func response(status: HTTPResponse.Status) -> Response { JSONResponse.make(status, self) }
}
