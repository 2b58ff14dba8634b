/// The `code` of a `fail` event. A struct over a string so that codes can be added without
/// breaking clients that decode an older set.
public struct ExecFailCode: RawRepresentable, Hashable, Codable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    /// The request is not a valid ExecRequest (both/neither of command and shell, bad id, …).
    public static let badRequest = ExecFailCode(rawValue: "BAD_REQUEST")
    /// An exec with this id is running or still retained.
    public static let duplicateExec = ExecFailCode(rawValue: "DUPLICATE_EXEC")
    /// `cwd` does not exist, is not a directory, or resolves outside the workspace.
    public static let invalidCwd = ExecFailCode(rawValue: "INVALID_CWD")
    /// `RUNNERD_MAX_LIVE_EXECS` execs are already running.
    public static let execLimit = ExecFailCode(rawValue: "EXEC_LIMIT")
    /// The process could not be started (missing binary, exec format error, …).
    public static let spawnFailed = ExecFailCode(rawValue: "SPAWN_FAILED")
    /// Addition: runnerd is shutting down and accepts no new exec.
    public static let shuttingDown = ExecFailCode(rawValue: "SHUTTING_DOWN")

    public var description: String { rawValue }
}

/// The `reason` of a refused `/stdin` write.
public struct StdinRejectReason: RawRepresentable, Hashable, Codable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let notFound = StdinRejectReason(rawValue: "NOT_FOUND")
    public static let stdinClosed = StdinRejectReason(rawValue: "STDIN_CLOSED")
    public static let badLine = StdinRejectReason(rawValue: "BAD_LINE")
    public static let writeFailed = StdinRejectReason(rawValue: "WRITE_FAILED")

    public var description: String { rawValue }
}

/// The body of every non-2xx JSON answer: `{"error": kind, "message"?: text}`.
public struct ErrorBody: Codable, Equatable, Sendable {
    public var error: String
    public var message: String?

    public init(error: String, message: String? = nil) {
        self.error = error
        self.message = message
    }
}

/// The `error` values of runnerd's non-2xx answers (bodies are `ErrorBody`); runnerd's
/// `RunnerdError.Code` maps each of its codes to one of them.
public enum RunnerdErrorKind {
    public static let badRequest = "bad_request"
    public static let unauthorized = "unauthorized"
    /// The agent's uid may not touch the path (the files API acts as the agent).
    public static let forbidden = "forbidden"
    public static let notFound = "not_found"
    public static let methodNotAllowed = "method_not_allowed"
    public static let conflict = "conflict"
    public static let payloadTooLarge = "payload_too_large"
    /// An earlier write to the exec's stdin is still pending (`409`); nothing was queued.
    public static let stdinBusy = "stdin_busy"
    /// A resize of an exec that has no terminal (`409`).
    public static let notATerminal = "not_a_pty"
    /// Too many watch streams are open (`429`).
    public static let tooManyWatches = "too_many_watches"
    public static let internalError = "internal"
}
