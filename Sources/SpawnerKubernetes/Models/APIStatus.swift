import SpawnerCore
/// meta/v1 Status: the body of every API error (and of some deletes).
public struct APIStatus: Codable, Equatable, Sendable {
    public var kind: String?
    /// `Failure` or `Success`.
    public var status: String?
    public var message: String?
    /// Machine-readable: `AlreadyExists`, `NotFound`, `Invalid`, `Forbidden`, `Conflict`, `TooManyRequests`, …
    public var reason: String?
    public var code: Int?
    public var details: Details?

    public struct Details: Codable, Equatable, Sendable {
        public var name: String?
        public var kind: String?
        public var causes: [Cause]?
        public var retryAfterSeconds: Int?
    }

    /// One field-level reason of a `422 Invalid`.
    public struct Cause: Codable, Equatable, Sendable {
        public var reason: String?
        public var message: String?
        public var field: String?
    }

    public init(status: String? = "Failure", message: String?, reason: String?, code: Int?, details: Details? = nil) {
        self.kind = "Status"
        self.status = status
        self.message = message
        self.reason = reason
        self.code = code
        self.details = details
    }
}

/// meta/v1 DeleteOptions, the body of a DELETE.
public struct DeleteOptions: Codable, Equatable, Sendable {
    public var apiVersion = "v1"
    public var kind = "DeleteOptions"
    /// `Background`, `Foreground` or `Orphan`: what happens to the dependants.
    public var propagationPolicy: String?
    public var preconditions: Preconditions?
    public var gracePeriodSeconds: Int?

    public struct Preconditions: Codable, Equatable, Sendable {
        /// Delete only the object with this uid (not one re-created under the same name).
        public var uid: String?
    }

    public init(propagationPolicy: String? = "Background", preconditionUID: String? = nil, gracePeriodSeconds: Int? = nil) {
        self.propagationPolicy = propagationPolicy
        self.preconditions = preconditionUID.map { Preconditions(uid: $0) }
        self.gracePeriodSeconds = gracePeriodSeconds
    }
}
