/// One observable rule of the contract, checked against a running target.
public struct Check: Sendable {
    public let name: String
    /// What the rule is (for `--list` and docs/conformance.md).
    public let rule: String
    /// A feature the operator can declare absent (`--no-pty` …): the check is then skipped.
    public let feature: Feature?
    public let timeout: Duration
    public let body: @Sendable () async throws -> Void

    public init(_ name: String, _ rule: String, feature: Feature? = nil, timeout: Duration = .seconds(60), _ body: @escaping @Sendable () async throws -> Void) {
        self.name = name
        self.rule = rule
        self.feature = feature
        self.timeout = timeout
        self.body = body
    }
}

/// Optional parts of the contract a target may lack.
public enum Feature: String, Sendable, CaseIterable {
    case pty, signals, processes, watch, restart, caps
}

/// A rule the target broke: the check FAILs with this reason.
public struct CheckFailure: Error, CustomStringConvertible, Sendable {
    public let why: String
    public init(_ why: String) { self.why = why }
    public var description: String { why }
}

/// The check cannot run here: it is SKIPped with this reason.
public struct CheckSkip: Error, CustomStringConvertible, Sendable {
    public let why: String
    public init(_ why: String) { self.why = why }
    public var description: String { why }
}

/// Fails the check unless `condition` holds.
public func expect(_ condition: Bool, _ why: @autoclosure () -> String) throws {
    if !condition { throw CheckFailure(why()) }
}

/// The value, or a failure saying what was missing.
public func require<T>(_ value: T?, _ why: @autoclosure () -> String) throws -> T {
    guard let value else { throw CheckFailure(why()) }
    return value
}
