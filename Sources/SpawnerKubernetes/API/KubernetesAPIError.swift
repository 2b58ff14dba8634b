import SpawnerCore
/// Why a call to the API server failed, classified once, with a message that says what to do.
public struct KubernetesAPIError: Error, CustomStringConvertible, Sendable {
    public enum Kind: String, Sendable, Equatable {
        /// 409 `AlreadyExists`: an object of that name exists.
        case alreadyExists
        /// 409 otherwise (a failed precondition, a conflicting update).
        case conflict
        /// 404: the object (or the namespace) does not exist.
        case notFound
        /// 422 `Invalid`: the object was rejected; `causes` say which fields.
        case invalid
        /// 400 and other client errors.
        case badRequest
        /// 401: the credentials were not accepted.
        case unauthorized
        /// 403: RBAC (or an admission policy) refused the call.
        case forbidden
        /// 429: throttled (API priority and fairness, or a webhook); retried after `Retry-After`.
        case tooManyRequests
        /// 5xx: retried with backoff.
        case serverError
        /// No HTTP answer: refused, reset, closed.
        case transport
        /// The TLS handshake failed (an unknown CA, a refused client certificate): not retried.
        case tls
        /// The deadline passed.
        case timeout
        /// An answer that is not the JSON it should be.
        case badResponse
    }

    public var kind: Kind
    /// The HTTP status, when there was an answer.
    public var status: Int?
    /// `create pods/s-1 in namespace sandboxes`.
    public var operation: String
    public var message: String
    /// Attempts made (retries included).
    public var attempts: Int

    public init(_ kind: Kind, status: Int? = nil, operation: String, message: String, attempts: Int = 1) {
        self.kind = kind
        self.status = status
        self.operation = operation
        self.message = message
        self.attempts = attempts
    }

    /// Whether another attempt may succeed.
    public var isRetryable: Bool {
        switch kind {
        case .tooManyRequests, .serverError, .transport: true
        default: false
        }
    }

    public var description: String {
        let code = status.map { " (\($0))" } ?? ""
        let tries = attempts > 1 ? " after \(attempts) attempts" : ""
        return "\(operation): \(headline)\(code)\(tries): \(message)\(advice)"
    }

    private var headline: String {
        switch kind {
        case .alreadyExists: "already exists"
        case .conflict: "conflict"
        case .notFound: "not found"
        case .invalid: "rejected as invalid"
        case .badRequest: "bad request"
        case .unauthorized: "unauthorized"
        case .forbidden: "forbidden"
        case .tooManyRequests: "throttled by the API server"
        case .serverError: "API server error"
        case .transport: "API server unreachable"
        case .tls: "TLS handshake failed"
        case .timeout: "no answer before the deadline"
        case .badResponse: "unexpected answer"
        }
    }

    private var advice: String {
        switch kind {
        case .forbidden: " (the spawner's ServiceAccount needs the Role in deploy/kubernetes/10-rbac.yaml)"
        case .unauthorized: " (check the token or client certificate of the kubeconfig or service account)"
        case .tls: " (check the cluster CA and the client certificate of the kubeconfig or service account)"
        default: ""
        }
    }

    /// Classifies an HTTP answer that is not a success.
    static func from(status: Int, body: APIStatus?, operation: String) -> KubernetesAPIError {
        let kind: Kind
        switch status {
        case 409: kind = body?.reason == "AlreadyExists" ? .alreadyExists : .conflict
        case 404: kind = .notFound
        case 422: kind = .invalid
        case 401: kind = .unauthorized
        case 403: kind = .forbidden
        case 429: kind = .tooManyRequests
        case 500...599: kind = .serverError
        default: kind = .badRequest
        }
        var message = body?.message ?? "HTTP \(status) without a Status body"
        if let causes = body?.details?.causes, !causes.isEmpty {
            let listed = causes.map { cause in [cause.field, cause.message].compactMap { $0 }.joined(separator: ": ") }
            if !listed.allSatisfy({ message.contains($0) }) { message += " [" + listed.joined(separator: "; ") + "]" }
        }
        return KubernetesAPIError(kind, status: status, operation: operation, message: message)
    }
}
