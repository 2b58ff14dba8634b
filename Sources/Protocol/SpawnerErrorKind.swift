/// The `error` values of the spawner's non-2xx answers (bodies are `ErrorBody`).
public enum SpawnerErrorKind {
    public static let unauthorized = "unauthorized"
    public static let badRequest = "bad_request"
    public static let notFound = "not_found"
    public static let conflict = "conflict"
    public static let sessionNotReady = "session_not_ready"
    public static let payloadTooLarge = "payload_too_large"
    /// Past a cap the contract's `"...cap reached"` text: one per cap.
    public static let totalCapReached = "session cap reached"
    public static let orgCapReached = "org session cap reached"
    public static let ownerCapReached = "owner session cap reached"
    public static let createFailed = "create_failed"
    public static let badGateway = "bad_gateway"
    public static let internalError = "internal"
    public static let methodNotAllowed = "method_not_allowed"
    /// The request's body did not arrive within the spawner's body timeout.
    public static let requestTimeout = "request_timeout"
    /// Too many request bodies are being read at once; retry.
    public static let busy = "busy"
    /// runnerd did not answer within the route's timeout.
    public static let gatewayTimeout = "gateway_timeout"
    /// A WebSocket endpoint (the terminal) asked for without the upgrade.
    public static let upgradeRequired = "upgrade_required"
    /// Something the route needs is not installed (the web terminal's xterm.js).
    public static let unavailable = "unavailable"
}
