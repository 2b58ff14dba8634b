import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import RunnerProtocol
import SpawnerCore
import SystemSupport

/// The few REST calls the backend makes, on namespaced core/v1 objects: create, get, list by
/// label, delete. Every call carries the credentials, has a deadline, and is retried as
/// `RetryPolicy` says; what fails comes back as a `KubernetesAPIError`.
struct KubernetesClient: Sendable {
    let connection: KubernetesConnection
    let namespace: String
    let httpClient: HTTPClient
    var retry = RetryPolicy()
    /// One attempt's limit (the call's deadline may be sooner).
    var attemptTimeout: Duration = .seconds(10)
    /// Page size of a list.
    var pageSize = 250
    var logger: Logger

    /// Answers larger than this are refused (a list page of Pods is well under it).
    static let maxResponseBytes = 16 << 20

    // MARK: Calls

    /// Creates `object`. A create retried after a lost answer may find its own object there
    /// (409): `isOurs` recognises it, and that object is returned as if created.
    func create<T: KubernetesObject>(_ object: T, deadline: ContinuousClock.Instant, isOurs: (T) -> Bool) async throws(KubernetesAPIError) -> T {
        let operation = "create \(T.resource)/\(object.name) in namespace \(namespace)"
        let body: [UInt8]
        do {
            body = try WireJSON.encode(object)
        } catch {
            throw KubernetesAPIError(.badRequest, operation: operation, message: "cannot encode: \(error)")
        }
        do throws(KubernetesAPIError) {
            return try await call(.POST, path(T.self), body: body, operation: operation, deadline: deadline)
        } catch {
            guard error.kind == .alreadyExists, error.attempts > 1 else { throw error }
            // An earlier attempt may have gone through with its answer lost.
            if let existing = try await get(T.self, object.name, deadline: deadline), isOurs(existing) { return existing }
            throw error
        }
    }

    /// The object, or nil when there is none of that name.
    func get<T: KubernetesObject>(_ type: T.Type, _ name: String, deadline: ContinuousClock.Instant) async throws(KubernetesAPIError) -> T? {
        do throws(KubernetesAPIError) {
            return try await call(.GET, path(T.self, name), operation: "get \(T.resource)/\(name) in namespace \(namespace)", deadline: deadline) as T
        } catch {
            guard error.kind == .notFound else { throw error }
            return nil
        }
    }

    /// Every object matching `labelSelector`, page by page.
    func list<T: KubernetesObject>(_ type: T.Type, labelSelector: String, deadline: ContinuousClock.Instant) async throws(KubernetesAPIError) -> [T] {
        var items: [T] = []
        var token: String?
        repeat {
            var query = [("labelSelector", labelSelector), ("limit", String(pageSize))]
            if let token { query.append(("continue", token)) }
            let page: ObjectList<T> = try await call(
                .GET, path(T.self) + Self.queryString(query), operation: "list \(T.resource) in namespace \(namespace) (\(labelSelector))",
                deadline: deadline)
            items += page.items
            token = page.metadata?.continue.flatMap { $0.isEmpty ? nil : $0 }
        } while token != nil
        return items
    }

    /// What a delete found.
    enum DeleteOutcome: Equatable, Sendable {
        /// Deletion has begun (it may take the grace period to finish).
        case deleted
        /// There was no such object.
        case absent
        /// The object of that name is another one than `uid` (re-created meanwhile): left alone.
        case replaced
    }

    /// Deletes `name`, only if its uid is still `uid` (when given); dependants are collected
    /// in the background.
    func delete<T: KubernetesObject>(_ type: T.Type, _ name: String, uid: String?, deadline: ContinuousClock.Instant) async throws(KubernetesAPIError) -> DeleteOutcome {
        let options = DeleteOptions(propagationPolicy: "Background", preconditionUID: uid)
        let body = (try? WireJSON.encode(options)) ?? []
        do throws(KubernetesAPIError) {
            let _: APIStatusOrObject = try await call(
                .DELETE, path(T.self, name), body: body, operation: "delete \(T.resource)/\(name) in namespace \(namespace)", deadline: deadline)
            return .deleted
        } catch {
            if error.kind == .notFound { return .absent }
            if error.kind == .conflict, uid != nil { return .replaced }
            throw error
        }
    }

    // MARK: Transport

    private func path<T: KubernetesObject>(_ type: T.Type, _ name: String? = nil) -> String {
        let prefix = T.apiVersion == "v1" ? "/api/v1" : "/apis/\(T.apiVersion)"
        let base = "\(prefix)/namespaces/\(Self.percentEncoded(namespace))/\(T.resource)"
        return name.map { base + "/" + Self.percentEncoded($0) } ?? base
    }

    /// One call with its retries.
    private func call<Answer: Decodable>(
        _ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, operation: String, deadline: ContinuousClock.Instant
    ) async throws(KubernetesAPIError) -> Answer {
        var attempt = 0
        while true {
            attempt += 1
            let outcome = await attemptOnce(method, path, body: body, operation: operation, deadline: deadline)
            switch outcome {
            case .success(let bytes):
                do {
                    return try WireJSON.decode(Answer.self, from: bytes)
                } catch {
                    throw KubernetesAPIError(.badResponse, status: 200, operation: operation, message: "cannot decode: \(error)", attempts: attempt)
                }
            case .failure(var error, let retryAfter):
                error.attempts = attempt
                guard let pause = retry.pause(after: error, attempt: attempt, retryAfterSeconds: retryAfter, deadline: deadline) else {
                    if error.isRetryable, attempt < retry.maxAttempts, let retryAfter {
                        error.message += " (the server asked to retry after \(retryAfter) s, past the deadline)"
                    }
                    throw error
                }
                logger.debug("retrying an API call", metadata: ["operation": "\(operation)", "error": "\(error)", "pauseMs": "\(pause.milliseconds)"])
                do {
                    try await Task.sleep(for: pause)
                } catch {
                    throw KubernetesAPIError(.timeout, operation: operation, message: "cancelled", attempts: attempt)
                }
            }
        }
    }

    private enum AttemptOutcome {
        case success([UInt8])
        case failure(KubernetesAPIError, retryAfterSeconds: Int?)
    }

    private func attemptOnce(_ method: HTTPMethod, _ path: String, body: [UInt8]?, operation: String, deadline: ContinuousClock.Instant) async -> AttemptOutcome {
        let remaining = deadline - ContinuousClock.now
        guard remaining > .zero else {
            return .failure(KubernetesAPIError(.timeout, operation: operation, message: "the deadline passed"), retryAfterSeconds: nil)
        }
        var request = HTTPClientRequest(url: connection.server + path)
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "spawner/\(SpawnerComponents.version)")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        do {
            if let token = try connection.credentials.bearerToken() {
                request.headers.add(name: "Authorization", value: "Bearer \(token)")
            }
        } catch {
            return .failure(KubernetesAPIError(.unauthorized, operation: operation, message: "cannot read the token: \(error)"), retryAfterSeconds: nil)
        }
        let timeout = min(remaining, attemptTimeout)
        do {
            let response = try await httpClient.execute(request, deadline: .now() + TimeAmount.nanoseconds(Int64(timeout.nanoseconds)))
            let bytes = Array(buffer: try await response.body.collect(upTo: Self.maxResponseBytes))
            let status = Int(response.status.code)
            if (200..<300).contains(status) { return .success(bytes) }
            let statusBody = try? WireJSON.decode(APIStatus.self, from: bytes)
            let error = KubernetesAPIError.from(status: status, body: statusBody, operation: operation)
            let retryAfter = response.headers.first(name: "Retry-After").flatMap { Int($0.trimmingWhitespace()) } ?? statusBody?.details?.retryAfterSeconds
            return .failure(error, retryAfterSeconds: status == 429 || status == 503 ? retryAfter : nil)
        } catch {
            return .failure(Self.classify(transport: error, operation: operation, server: connection.server), retryAfterSeconds: nil)
        }
    }

    /// A failure without an HTTP answer.
    static func classify(transport error: any Error, operation: String, server: String) -> KubernetesAPIError {
        if let error = error as? HTTPClientError, error == .deadlineExceeded || error == .readTimeout {
            return KubernetesAPIError(.timeout, operation: operation, message: "\(server) did not answer in time")
        }
        if error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError {
            // A certificate the CA does not vouch for does not get better with retries.
            return KubernetesAPIError(.tls, operation: operation, message: "\(server): \(error)")
        }
        return KubernetesAPIError(.transport, operation: operation, message: "\(server): \(error)")
    }

    // MARK: Encoding

    static func queryString(_ items: [(String, String)]) -> String {
        "?" + items.map { "\(percentEncoded($0.0))=\(percentEncoded($0.1))" }.joined(separator: "&")
    }

    static func percentEncoded(_ text: String) -> String { PercentEncoding.queryValue(text) }
}

/// A delete answers the object (graceful deletion begun) or a Status (gone at once): either is fine.
private struct APIStatusOrObject: Decodable {
    init(from decoder: any Decoder) throws {}
}
