import Foundation
import RunnerProtocol

/// What the API double answers: a status, a JSON body, extra headers.
struct APIAnswer: Sendable {
    var status: Int
    var body: JSONValue
    var headers: [(String, String)] = []

    /// A meta/v1 Status failure, as the API server writes it.
    static func failure(_ code: Int, _ reason: String, _ message: String, causes: [ObjectValidation.Cause] = [], retryAfter: Int? = nil) -> APIAnswer {
        var details: [String: JSONValue] = [:]
        if !causes.isEmpty {
            details["causes"] = .array(causes.map { .object(["field": .string($0.field), "message": .string($0.message), "reason": .string("FieldValueInvalid")]) })
        }
        if let retryAfter { details["retryAfterSeconds"] = .number(Double(retryAfter)) }
        var body: [String: JSONValue] = [
            "kind": "Status", "apiVersion": "v1", "status": "Failure", "message": .string(message), "reason": .string(reason), "code": .number(Double(code)),
        ]
        if !details.isEmpty { body["details"] = .object(details) }
        return APIAnswer(status: code, body: .object(body), headers: retryAfter.map { [("Retry-After", String($0))] } ?? [])
    }
}

extension JSONValue: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
}

/// The state of a one-node cluster as the API server keeps it: namespaced pods, secrets and
/// persistentvolumeclaims with uids and resource versions, label-selected lists with pages,
/// graceful Pod deletion (the kubelet stops the Pod, then it goes), preconditions, and the
/// garbage collector (an object whose owner is gone goes too).
actor FakeCluster {
    static let resources: Set<String> = ["pods", "secrets", "persistentvolumeclaims"]

    private(set) var namespaces: Set<String>
    /// resource → namespace → name → object
    private var objects: [String: [String: [String: JSONValue]]] = [:]
    private var version = 1000
    private var podListeners: [AsyncStream<PodEvent>.Continuation] = []
    /// Stops a Pod's containers on deletion (the kubelet); the Pod object goes once it returns.
    private var terminator: (@Sendable (PodEvent) async -> Void)?

    struct PodEvent: Sendable {
        var namespace: String
        var name: String
        var uid: String
    }

    init(namespaces: Set<String>) { self.namespaces = namespaces }

    func setTerminator(_ terminator: @escaping @Sendable (PodEvent) async -> Void) { self.terminator = terminator }

    /// New Pods, for the kubelet.
    func podsCreated() -> AsyncStream<PodEvent> {
        let (stream, continuation) = AsyncStream<PodEvent>.makeStream()
        podListeners.append(continuation)
        return stream
    }

    func finishStreams() {
        for listener in podListeners { listener.finish() }
        podListeners = []
    }

    // MARK: REST semantics

    func create(_ resource: String, namespace: String, body: JSONValue?) -> APIAnswer {
        guard namespaces.contains(namespace) else { return .failure(404, "NotFound", "namespaces \"\(namespace)\" not found") }
        guard var object = body, object.object != nil else { return .failure(400, "BadRequest", "the body is not a JSON object") }
        let causes = ObjectValidation.validate(object, resource: resource)
        let name = object["metadata"]?["name"]?.string ?? ""
        let kind = object["kind"]?.string ?? resource
        guard causes.isEmpty else {
            let listed = causes.map { "\($0.field): \($0.message)" }.joined(separator: ", ")
            return .failure(422, "Invalid", "\(kind) \"\(name)\" is invalid: \(listed)", causes: causes)
        }
        guard objects[resource]?[namespace]?[name] == nil else {
            return .failure(409, "AlreadyExists", "\(resource) \"\(name)\" already exists")
        }
        version += 1
        object.set(["metadata", "namespace"], .string(namespace))
        object.set(["metadata", "uid"], .string(UUID().uuidString.lowercased()))
        object.set(["metadata", "resourceVersion"], .string(String(version)))
        object.set(["metadata", "creationTimestamp"], .string(Self.timestamp()))
        switch resource {
        case "pods": object.set(["status"], .object(["phase": "Pending"]))
        case "persistentvolumeclaims": object.set(["status"], .object(["phase": "Bound"]))
        default: break
        }
        objects[resource, default: [:]][namespace, default: [:]][name] = object
        if resource == "pods" {
            let event = PodEvent(namespace: namespace, name: name, uid: object["metadata"]?["uid"]?.string ?? "")
            for listener in podListeners { listener.yield(event) }
        }
        return APIAnswer(status: 201, body: object)
    }

    func get(_ resource: String, namespace: String, name: String) -> APIAnswer {
        guard let object = objects[resource]?[namespace]?[name] else { return .failure(404, "NotFound", "\(resource) \"\(name)\" not found") }
        return APIAnswer(status: 200, body: object)
    }

    func list(_ resource: String, namespace: String, labelSelector: String?, limit: Int?, continueToken: String?) -> APIAnswer {
        let selector: LabelSelector
        do {
            selector = try LabelSelector(labelSelector ?? "")
        } catch {
            return .failure(400, "BadRequest", "unable to parse requirement: \(labelSelector ?? "")")
        }
        let matching = (objects[resource]?[namespace] ?? [:]).sorted { $0.key < $1.key }.map(\.value)
            .filter { selector.matches($0["metadata"]?["labels"]?.stringMap ?? [:]) }
        let start = continueToken.flatMap(Int.init) ?? 0
        let end = limit.map { min(start + $0, matching.count) } ?? matching.count
        var metadata: [String: JSONValue] = ["resourceVersion": .string(String(version))]
        if end < matching.count { metadata["continue"] = .string(String(end)) }
        let kind = ["pods": "PodList", "secrets": "SecretList", "persistentvolumeclaims": "PersistentVolumeClaimList"][resource] ?? "List"
        let items = start < matching.count ? Array(matching[start..<end]) : []
        return APIAnswer(status: 200, body: .object(["kind": .string(kind), "apiVersion": "v1", "metadata": .object(metadata), "items": .array(items)]))
    }

    func delete(_ resource: String, namespace: String, name: String, options: JSONValue?) -> APIAnswer {
        guard var object = objects[resource]?[namespace]?[name] else { return .failure(404, "NotFound", "\(resource) \"\(name)\" not found") }
        let uid = object["metadata"]?["uid"]?.string ?? ""
        if let wanted = options?["preconditions"]?["uid"]?.string, wanted != uid {
            return .failure(409, "Conflict", "Precondition failed: UID in precondition: \(wanted), UID in object meta: \(uid)")
        }
        guard resource == "pods" else {
            remove(resource, namespace: namespace, name: name)
            return APIAnswer(status: 200, body: .object(["kind": "Status", "apiVersion": "v1", "status": "Success"]))
        }
        // Graceful: the Pod stays, marked, until the kubelet has stopped it.
        if object["metadata"]?["deletionTimestamp"] == nil {
            version += 1
            object.set(["metadata", "deletionTimestamp"], .string(Self.timestamp()))
            object.set(["metadata", "resourceVersion"], .string(String(version)))
            objects[resource]?[namespace]?[name] = object
            let event = PodEvent(namespace: namespace, name: name, uid: uid)
            let terminator = self.terminator
            Task {
                await terminator?(event)
                await self.removePod(event)
            }
        }
        return APIAnswer(status: 200, body: object)
    }

    private func removePod(_ event: PodEvent) {
        guard objects["pods"]?[event.namespace]?[event.name]?["metadata"]?["uid"]?.string == event.uid else { return }
        remove("pods", namespace: event.namespace, name: event.name)
    }

    /// Removes an object, then (the garbage collector) every object it owned, transitively.
    private func remove(_ resource: String, namespace: String, name: String) {
        guard let object = objects[resource]?[namespace]?.removeValue(forKey: name), let uid = object["metadata"]?["uid"]?.string else { return }
        version += 1
        for dependentResource in Self.resources {
            for (dependentName, dependent) in objects[dependentResource]?[namespace] ?? [:] {
                let owners = dependent["metadata"]?["ownerReferences"]?.array ?? []
                if owners.contains(where: { $0["uid"]?.string == uid }) { remove(dependentResource, namespace: namespace, name: dependentName) }
            }
        }
    }

    // MARK: Test-side access (what kubectl or the kubelet would do)

    func object(_ resource: String, namespace: String, name: String) -> JSONValue? { objects[resource]?[namespace]?[name] }

    func all(_ resource: String, namespace: String) -> [JSONValue] {
        (objects[resource]?[namespace] ?? [:]).sorted { $0.key < $1.key }.map(\.value)
    }

    /// Every object of every kind in `namespace`.
    func count(namespace: String) -> Int { Self.resources.reduce(0) { $0 + (objects[$1]?[namespace]?.count ?? 0) } }

    /// Changes the status of the Pod `name` if it is still the one with `uid` (the kubelet's
    /// status writes).
    @discardableResult
    func updatePodStatus(namespace: String, name: String, uid: String, _ change: @Sendable (inout JSONValue) -> Void) -> Bool {
        guard var pod = objects["pods"]?[namespace]?[name], pod["metadata"]?["uid"]?.string == uid else { return false }
        var status = pod["status"] ?? .object([:])
        change(&status)
        pod.set(["status"], status)
        version += 1
        pod.set(["metadata", "resourceVersion"], .string(String(version)))
        objects["pods"]?[namespace]?[name] = pod
        return true
    }

    func addNamespace(_ namespace: String) { namespaces.insert(namespace) }

    static func timestamp() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date())
    }
}

/// Equality-based label selectors: `a=b`, `a==b`, `a!=b`, `a`, `!a`, comma-separated.
struct LabelSelector: Sendable {
    enum Requirement: Sendable {
        case equals(String, String)
        case notEquals(String, String)
        case exists(String)
        case absent(String)
    }

    struct Unparsable: Error {}

    let requirements: [Requirement]

    init(_ text: String) throws {
        requirements = try text.split(separator: ",").map { part in
            let term = part.trimmingCharacters(in: .whitespaces)
            if let range = term.range(of: "!=") { return .notEquals(String(term[..<range.lowerBound]), String(term[range.upperBound...])) }
            if let range = term.range(of: "==") { return .equals(String(term[..<range.lowerBound]), String(term[range.upperBound...])) }
            if let range = term.range(of: "=") { return .equals(String(term[..<range.lowerBound]), String(term[range.upperBound...])) }
            if term.hasPrefix("!") { return .absent(String(term.dropFirst())) }
            guard !term.contains(" "), !term.isEmpty else { throw Unparsable() }
            return .exists(term)
        }
    }

    func matches(_ labels: [String: String]) -> Bool {
        requirements.allSatisfy { requirement in
            switch requirement {
            case .equals(let key, let value): labels[key] == value
            case .notEquals(let key, let value): labels[key] != value
            case .exists(let key): labels[key] != nil
            case .absent(let key): labels[key] == nil
            }
        }
    }
}
