import Glibc
import NIOHTTP1
import RunnerProtocol

/// Every way a runnerd request fails: a code, whose HTTP status and wire name come from one
/// table (`Code.wire`), and a message. `RunnerdHTTPHandler.respond(_:)` is the one place it
/// becomes an answer (`ErrorBody`: `{"error": name, "message": text}`).
public struct RunnerdError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Code: Equatable, Sendable, CaseIterable {
        case badRequest, unauthorized, forbidden, notFound, methodNotAllowed, conflict, payloadTooLarge
        case stdinBusy, notATerminal, tooManyWatches, internalError

        /// The table: each code's status and the `error` field of its body (`RunnerdErrorKind`).
        public var wire: (status: HTTPResponseStatus, error: String) {
            switch self {
            case .badRequest: (.badRequest, RunnerdErrorKind.badRequest)
            case .unauthorized: (.unauthorized, RunnerdErrorKind.unauthorized)
            case .forbidden: (.forbidden, RunnerdErrorKind.forbidden)
            case .notFound: (.notFound, RunnerdErrorKind.notFound)
            case .methodNotAllowed: (.methodNotAllowed, RunnerdErrorKind.methodNotAllowed)
            case .conflict: (.conflict, RunnerdErrorKind.conflict)
            case .payloadTooLarge: (.payloadTooLarge, RunnerdErrorKind.payloadTooLarge)
            case .stdinBusy: (.conflict, RunnerdErrorKind.stdinBusy)
            case .notATerminal: (.conflict, RunnerdErrorKind.notATerminal)
            case .tooManyWatches: (.tooManyRequests, RunnerdErrorKind.tooManyWatches)
            case .internalError: (.internalServerError, RunnerdErrorKind.internalError)
            }
        }
    }

    public let code: Code
    public let message: String?

    public init(_ code: Code, _ message: String? = nil) {
        self.code = code
        self.message = message
    }

    public var status: HTTPResponseStatus { code.wire.status }
    public var body: ErrorBody { ErrorBody(error: code.wire.error, message: message) }
    public var description: String { "\(status.code) \(code.wire.error)\(message.map { ": \($0)" } ?? "")" }

    public static func == (lhs: RunnerdError, rhs: RunnerdError) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message
    }

    static func badRequest(_ message: String) -> RunnerdError { .init(.badRequest, message) }
    static let unauthorized = RunnerdError(.unauthorized)
    static let notFound = RunnerdError(.notFound)
    static let methodNotAllowed = RunnerdError(.methodNotAllowed)
    static let payloadTooLarge = RunnerdError(.payloadTooLarge, "request body exceeds 4 MiB")
    static func noExec(_ id: String) -> RunnerdError { .init(.notFound, "no exec \(id)") }
}

extension Workspace.ResolveError {
    /// What is wrong with the path, in the words of the files API's skip reasons.
    public var reason: String {
        switch self {
        case .notFound: SkipReason.notFound
        case .escapes: SkipReason.escapesWorkspace
        case .notADirectory: SkipReason.notADirectory
        case .tooManyLinks: SkipReason.tooManyLinks
        case .reserved: SkipReason.reserved
        case .invalid: SkipReason.nulByte
        case .changing: SkipReason.changing
        case .tooDeep: SkipReason.tooDeep
        case .nameTooLong: SkipReason.nameTooLong
        case .system(let error): "\(error)"
        }
    }

    /// The answer to a request whose path could not be resolved.
    public var runnerdError: RunnerdError {
        switch self {
        case .notFound, .notADirectory: RunnerdError(.notFound, reason)
        case .escapes, .reserved, .tooManyLinks, .invalid, .tooDeep, .nameTooLong: RunnerdError(.badRequest, reason)
        case .changing: RunnerdError(.conflict, reason)
        case .system(let error) where error.errno == EACCES: RunnerdError(.forbidden, reason)
        case .system: RunnerdError(.internalError, reason)
        }
    }
}
