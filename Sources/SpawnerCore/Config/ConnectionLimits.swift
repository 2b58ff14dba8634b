import RunnerProtocol

/// How many client connections the spawner holds and for how long (issue 8 §1).
public struct ConnectionLimits: Equatable, Sendable {
    /// Open client connections at most; past it a new one takes the place of the longest-idle
    /// connection, or is closed when all are busy (`ConnectionGovernor`). `SPAWNER_MAX_CONNECTIONS`.
    public var maxConnections = 1024
    /// A connection with no request in progress, or whose request has sent nothing (head or
    /// body part) for this long, is closed; a response being written (an exec stream) is not
    /// idle. `SPAWNER_CONNECTION_IDLE_TIMEOUT_MS`.
    public var idleTimeoutMs: Int64 = 60_000
    /// A signed request's whole body must arrive within this, or the connection is closed.
    /// `SPAWNER_REQUEST_BODY_TIMEOUT_MS`.
    public var bodyTimeoutMs: Int64 = 60_000
    /// Bytes of request bodies read before their signature is checked (requests without
    /// `X-Spawner-Content-SHA256`), across connections (`BodyBudget`); past it a request is
    /// refused with `503`.
    public var pendingBodyBytes = 16 * Limits.maxRequestBodyBytes
    /// The share of `pendingBodyBytes` one client address (an IPv6 /64) may hold: two bodies
    /// of the contract's largest size. `SPAWNER_UNVERIFIED_BODY_BYTES_PER_CLIENT`.
    public var pendingBodyBytesPerClient = 2 * Limits.maxRequestBodyBytes
    /// Signatures remembered against replay (`ReplayCache`); when that many are live, new
    /// signed requests are refused with `503` until some expire. `SPAWNER_REPLAY_CACHE_ENTRIES`.
    public var replayCacheEntries = 500_000

    public init() {}

    /// Reads the variables of `environment`; `number` validates each.
    static func resolve(
        environment: [String: String], number: (String, Int64, Int64) throws -> Int64?
    ) throws -> ConnectionLimits {
        var limits = ConnectionLimits()
        if let value = try number("SPAWNER_MAX_CONNECTIONS", 1, 1_000_000) { limits.maxConnections = Int(value) }
        if let value = try number("SPAWNER_CONNECTION_IDLE_TIMEOUT_MS", 100, 86_400_000) { limits.idleTimeoutMs = value }
        if let value = try number("SPAWNER_REQUEST_BODY_TIMEOUT_MS", 100, 3_600_000) { limits.bodyTimeoutMs = value }
        if let value = try number("SPAWNER_UNVERIFIED_BODY_BYTES_PER_CLIENT", 0, Int64(limits.pendingBodyBytes)) {
            limits.pendingBodyBytesPerClient = Int(value)
        }
        if let value = try number("SPAWNER_REPLAY_CACHE_ENTRIES", 1_000, 100_000_000) { limits.replayCacheEntries = Int(value) }
        return limits
    }
}
