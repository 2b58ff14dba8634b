/// How an exec's stdin is handled.
public enum StdinMode: String, Codable, Sendable {
    /// Write `stdinBase64` (if any), then close stdin.
    case close
    /// Keep stdin open for `/stdin` writes of one JSON line each, until `eof`.
    case hold
}

/// The body of `POST /execs` (and the spawner's exec route).
public struct ExecRequest: Codable, Equatable, Sendable {
    public var execId: String
    public var command: [String]?
    public var shell: String?
    public var cwd: String?
    public var env: [String: String]?
    /// Sliding deadline in ms, re-armed by every attach; `0` means none.
    public var timeoutMs: Int64
    /// `0` means unlimited.
    public var stdoutMaxBytes: Int64
    /// `0` means unlimited.
    public var stderrMaxBytes: Int64
    public var stdinMode: StdinMode?
    public var stdinBase64: String?
    /// Addition: time between SIGTERM and SIGKILL on cancel/timeout (default 5000).
    public var killGraceMs: Int64?
    /// v1.1: run on a new pseudo-terminal of this size (its controlling tty); output comes as
    /// `stdout` events only and `/stdin` takes raw bytes.
    public var pty: TerminalSize?

    public init(
        execId: String, command: [String]? = nil, shell: String? = nil, cwd: String? = nil,
        env: [String: String]? = nil, timeoutMs: Int64 = 0, stdoutMaxBytes: Int64 = 0,
        stderrMaxBytes: Int64 = 0, stdinMode: StdinMode? = nil, stdinBase64: String? = nil,
        killGraceMs: Int64? = nil, pty: TerminalSize? = nil
    ) {
        self.execId = execId
        self.command = command
        self.shell = shell
        self.cwd = cwd
        self.env = env
        self.timeoutMs = timeoutMs
        self.stdoutMaxBytes = stdoutMaxBytes
        self.stderrMaxBytes = stderrMaxBytes
        self.stdinMode = stdinMode
        self.stdinBase64 = stdinBase64
        self.killGraceMs = killGraceMs
        self.pty = pty
    }

    /// The checks every receiver applies; the message says what is wrong.
    public func validationError() -> String? {
        if !Identifier.isValidExecID(execId) { return "execId must match [A-Za-z0-9_-]{1,64}" }
        switch (command, shell) {
        case (nil, nil): return "one of command and shell is required"
        case (.some, .some): return "command and shell are mutually exclusive"
        case (.some(let argv), nil):
            if argv.isEmpty { return "command must not be empty" }
            if argv[0].isEmpty { return "command[0] must not be empty" }
            if argv.contains(where: { $0.utf8.contains(0) }) { return "command must not contain NUL bytes" }
        case (nil, .some(let script)):
            if script.utf8.contains(0) { return "shell must not contain NUL bytes" }
        }
        if timeoutMs < 0 { return "timeoutMs must be >= 0" }
        if stdoutMaxBytes < 0 || stderrMaxBytes < 0 { return "byte caps must be >= 0" }
        if let grace = killGraceMs, grace < 0 { return "killGraceMs must be >= 0" }
        if let cwd, cwd.utf8.contains(0) { return "cwd must not contain NUL bytes" }
        if let env {
            for (name, value) in env where !EnvPolicy.isWellFormedName(name) || value.utf8.contains(0) {
                return "env entry \(name) is not a valid environment variable"
            }
        }
        if let stdinBase64, Base64.decode(stdinBase64) == nil { return "stdinBase64 is not valid base64" }
        if let pty, let message = pty.rangeError { return "pty: \(message)" }
        return nil
    }
}
