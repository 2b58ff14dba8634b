/// A sandbox carrying the spawner's labels that did not prove, at boot, that it holds its
/// session's runnerd token (contract §4 adoption challenge): never adopted, never sent the
/// token, never destroyed by the spawner — an operator looks at it.
public struct ForeignSandbox: Codable, Equatable, Sendable {
    public var sessionId: String
    /// Where its runnerd was found (`http://IP:PORT`).
    public var endpoint: String
    /// What it answered instead of a proof.
    public var reason: String

    public init(sessionId: String, endpoint: String, reason: String) {
        self.sessionId = sessionId
        self.endpoint = endpoint
        self.reason = reason
    }
}

/// `GET /v1/foreign-sandboxes` (addition).
public struct ForeignSandboxList: Codable, Equatable, Sendable {
    public var sandboxes: [ForeignSandbox]
    public init(sandboxes: [ForeignSandbox]) { self.sandboxes = sandboxes }
}
