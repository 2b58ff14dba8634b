/// A terminal's size in character cells: `pty` of an ExecRequest and the body of
/// `POST /execs/{id}/resize`.
public struct TerminalSize: Codable, Equatable, Hashable, Sendable {
    public var cols: Int
    public var rows: Int

    public init(cols: Int, rows: Int) {
        self.cols = cols
        self.rows = rows
    }

    /// Each dimension is 1–1000.
    public static let range = 1...1000

    /// Decodes a size, range-checking both numbers (`Bounds`): out of range is `OutOfRange`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let range = Int64(Self.range.lowerBound)...Int64(Self.range.upperBound)
        cols = Int(try container.decodeInteger(.cols, in: range))
        rows = Int(try container.decodeInteger(.rows, in: range))
    }

    /// Why the size is out of range, or nil.
    public var rangeError: String? {
        guard Self.range.contains(cols), Self.range.contains(rows) else {
            return "cols and rows must each be \(Self.range.lowerBound)–\(Self.range.upperBound) (got \(cols)x\(rows))"
        }
        return nil
    }
}

/// The signals a client may send (`POST /execs/{id}/signal`, `POST /processes/{pid}/signal`,
/// the terminal's `{"signal":…}` frame): the contract's list, named without `SIG`.
public enum ContractSignal: String, Codable, CaseIterable, Sendable {
    case hup = "HUP", int = "INT", quit = "QUIT", term = "TERM", kill = "KILL"
    case usr1 = "USR1", usr2 = "USR2", cont = "CONT", stop = "STOP", winch = "WINCH"

    /// `INT`, `SIGINT` (any case: `int`, `sigint`); nil for anything else.
    public init?(name: String) {
        var upper = name.uppercased()
        if upper.hasPrefix("SIG") { upper.removeFirst(3) }
        self.init(rawValue: upper)
    }

    /// The name with `SIG`, as in `exit.signal`.
    public var fullName: String { "SIG" + rawValue }
}

/// The body of a signal request: `{"signal": "INT"}`.
public struct SignalRequest: Codable, Equatable, Sendable {
    public var signal: String
    public init(signal: String) { self.signal = signal }

    public var parsed: ContractSignal? { ContractSignal(name: signal) }

    public static let badSignalMessage =
        "signal must be one of \(ContractSignal.allCases.map(\.rawValue).joined(separator: " ")), with or without SIG"
}

/// Answer to a signal request.
public struct SignalResponse: Codable, Equatable, Sendable {
    /// false when the target had already ended.
    public var signaled: Bool
    public init(signaled: Bool) { self.signaled = signaled }
}

/// Answer to `POST /execs/{id}/resize`.
public struct OKResponse: Codable, Equatable, Sendable {
    public var ok: Bool
    public init(ok: Bool = true) { self.ok = ok }
}
