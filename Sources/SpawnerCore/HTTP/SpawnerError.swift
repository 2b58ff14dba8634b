import AsyncHTTPClient
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import NIOPosix
import RunnerProtocol
import RunnerdClient

/// Every way a spawner request fails: a code, whose HTTP status and wire name come from one
/// table (`Code.wire`), and a message. `ErrorMiddleware` is the one place it becomes an
/// answer (`ErrorBody`: `{"error": name, "message": text}`).
public struct SpawnerError: Error, HTTPResponseError, CustomStringConvertible, Sendable {
    public enum Code: Sendable, CaseIterable {
        case badRequest, unauthorized, notFound, methodNotAllowed, conflict, sessionNotReady, payloadTooLarge, requestTimeout
        case totalCapReached, orgCapReached, ownerCapReached, busy
        case createFailed, createTimedOut, badGateway, gatewayTimeout, internalError
        case upgradeRequired, unavailable

        /// The table: each code's status and the `error` field of its body.
        public var wire: (status: HTTPResponse.Status, error: String) {
            switch self {
            case .badRequest: (.badRequest, SpawnerErrorKind.badRequest)
            case .unauthorized: (.unauthorized, SpawnerErrorKind.unauthorized)
            case .notFound: (.notFound, SpawnerErrorKind.notFound)
            case .methodNotAllowed: (.methodNotAllowed, SpawnerErrorKind.methodNotAllowed)
            case .conflict: (.conflict, SpawnerErrorKind.conflict)
            case .sessionNotReady: (.conflict, SpawnerErrorKind.sessionNotReady)
            case .payloadTooLarge: (.contentTooLarge, SpawnerErrorKind.payloadTooLarge)
            case .requestTimeout: (.requestTimeout, SpawnerErrorKind.requestTimeout)
            case .totalCapReached: (.tooManyRequests, SpawnerErrorKind.totalCapReached)
            case .orgCapReached: (.tooManyRequests, SpawnerErrorKind.orgCapReached)
            case .ownerCapReached: (.tooManyRequests, SpawnerErrorKind.ownerCapReached)
            case .busy: (.serviceUnavailable, SpawnerErrorKind.busy)
            case .createFailed: (.internalServerError, SpawnerErrorKind.createFailed)
            case .createTimedOut: (.gatewayTimeout, SpawnerErrorKind.createFailed)
            case .badGateway: (.badGateway, SpawnerErrorKind.badGateway)
            case .gatewayTimeout: (.gatewayTimeout, SpawnerErrorKind.gatewayTimeout)
            case .internalError: (.internalServerError, SpawnerErrorKind.internalError)
            case .upgradeRequired: (HTTPResponse.Status(code: 426, reasonPhrase: "Upgrade Required"), SpawnerErrorKind.upgradeRequired)
            case .unavailable: (.serviceUnavailable, SpawnerErrorKind.unavailable)
            }
        }
    }

    public let code: Code
    public let message: String?
    /// The connection is closed once the answer is written: the request was refused before
    /// its body was read (`SignatureMiddleware`), and that body must never be.
    public private(set) var closesConnection = false

    init(_ code: Code, _ message: String? = nil) {
        self.code = code
        self.message = message
    }

    public var status: HTTPResponse.Status { code.wire.status }
    /// The `error` field of the body.
    public var kind: String { code.wire.error }
    public var body: ErrorBody { ErrorBody(error: kind, message: message) }
    public var description: String { "\(status.code) \(kind)\(message.map { ": \($0)" } ?? "")" }

    /// This error, answered on a connection that is then closed.
    func closingConnection() -> SpawnerError {
        var error = self
        error.closesConnection = true
        return error
    }

    static func badRequest(_ message: String) -> SpawnerError { .init(.badRequest, message) }
    static func unauthorized(_ message: String) -> SpawnerError { .init(.unauthorized, message) }
    static func sessionNotFound(_ id: String) -> SpawnerError { .init(.notFound, "no session \(id)") }
    static func sessionTaken(_ id: String) -> SpawnerError { .init(.conflict, "session id \(id) is taken") }
    static func sessionNotReady(_ id: String, _ state: SessionState) -> SpawnerError { .init(.sessionNotReady, "session \(id) is \(state.rawValue)") }
    static func sessionUnproven(_ id: String) -> SpawnerError {
        .init(.sessionNotReady, "session \(id)'s runnerd has not proven its token since the spawner restarted; retry later")
    }
    static func createFailed(_ failure: CreateFailure) -> SpawnerError { .init(failure.timedOut ? .createTimedOut : .createFailed, failure.description) }
    static func badGateway(_ message: String) -> SpawnerError { .init(.badGateway, message) }
    static let payloadTooLarge = SpawnerError(.payloadTooLarge, "request body exceeds \(Limits.maxRequestBodyBytes) bytes")

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        JSONResponse.make(status, body)
    }

    /// Any error thrown while answering, as the answer the client gets. Transport errors
    /// (`IOError`, `ChannelError`, …) mean runnerd only when wrapped where runnerd was called
    /// (`UpstreamFailure`); anywhere else they are internal errors.
    static func from(_ error: any Error) -> SpawnerError {
        switch error {
        case let error as SpawnerError:
            return error
        case let error as HTTPError:
            switch error.status {
            case .notFound: return .init(.notFound, "no such route")
            case .methodNotAllowed: return .init(.methodNotAllowed, error.body)
            case .contentTooLarge: return .payloadTooLarge
            case .unauthorized: return .unauthorized(error.body ?? "unauthorized")
            case .requestTimeout: return .init(.requestTimeout, error.body)
            default: return .init(error.status.code < 500 ? .badRequest : .internalError, error.body ?? error.status.reasonPhrase)
            }
        case is NIOTooManyBytesError:
            return .payloadTooLarge
        case let error as UpstreamFailure:
            return error.answer
        case let error as RelayError:
            return UpstreamFailure(cause: error).answer
        case let error as RunnerdClientError:
            return UpstreamFailure(cause: error).answer
        default:
            // Not runnerd's (its failures arrive as `UpstreamFailure`): the spawner's own,
            // logged by `ErrorMiddleware` with the path.
            return .init(.internalError, "\(error)")
        }
    }
}

/// Turns every error below it into `SpawnerError`'s JSON answer, so no route or middleware
/// answers an error its own way; an error that closes the connection says so (`Connection:
/// close`) and has the connection closed once the answer is out.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = SpawnerRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let mapped = SpawnerError.from(error)
            if mapped.status.code >= 500 {
                context.logger.error("request failed", metadata: ["error": "\(mapped)", "path": "\(request.uri.path)"])
            }
            var response = mapped.body.response(status: mapped.status)
            if mapped.closesConnection {
                response.headers[.connection] = "close"
                context.closeConnectionAfterResponse()
            }
            return response
        }
    }
}

extension ErrorBody {
    func response(status: HTTPResponse.Status) -> Response { JSONResponse.make(status, self) }
}
