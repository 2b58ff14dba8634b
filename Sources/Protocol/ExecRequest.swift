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

    /// Decodes a request, range-checking its numbers (`Bounds`): a number out of range throws
    /// `OutOfRange` (a `400`). A field added to the request must be decoded here too.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        execId = try container.decode(String.self, forKey: .execId)
        command = try container.decodeIfPresent([String].self, forKey: .command)
        shell = try container.decodeIfPresent(String.self, forKey: .shell)
        cwd = try container.decodeIfPresent(String.self, forKey: .cwd)
        env = try container.decodeIfPresent([String: String].self, forKey: .env)
        timeoutMs = try container.decodeInteger(.timeoutMs, in: Bounds.timeoutMs)
        stdoutMaxBytes = try container.decodeInteger(.stdoutMaxBytes, in: Bounds.outputCapBytes)
        stderrMaxBytes = try container.decodeInteger(.stderrMaxBytes, in: Bounds.outputCapBytes)
        stdinMode = try container.decodeIfPresent(StdinMode.self, forKey: .stdinMode)
        stdinBase64 = try container.decodeIfPresent(String.self, forKey: .stdinBase64)
        killGraceMs = try container.decodeIntegerIfPresent(.killGraceMs, in: Bounds.killGraceMs)
        pty = try container.decodeIfPresent(TerminalSize.self, forKey: .pty)
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
        if !Bounds.timeoutMs.contains(timeoutMs) { return OutOfRange(field: "timeoutMs", range: Bounds.timeoutMs).message }
        if !Bounds.outputCapBytes.contains(stdoutMaxBytes) { return OutOfRange(field: "stdoutMaxBytes", range: Bounds.outputCapBytes).message }
        if !Bounds.outputCapBytes.contains(stderrMaxBytes) { return OutOfRange(field: "stderrMaxBytes", range: Bounds.outputCapBytes).message }
        if let grace = killGraceMs, !Bounds.killGraceMs.contains(grace) { return OutOfRange(field: "killGraceMs", range: Bounds.killGraceMs).message }
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
