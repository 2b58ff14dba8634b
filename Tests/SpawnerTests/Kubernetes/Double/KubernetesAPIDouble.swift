import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import RunnerProtocol
import ServiceLifecycle
import Synchronization

/// A stateful stand-in for the Kubernetes API server on 127.0.0.1: the real REST paths and
/// JSON for namespaced pods, secrets and persistentvolumeclaims (`FakeCluster`), served over
/// TLS with a CA made in the test. It authenticates (bearer tokens, or client certificates
/// the CA signed), authorizes with the Role from `deploy/kubernetes/`, injects faults a test
/// plans, and logs every request.
final class KubernetesAPIDouble: Sendable {
    struct Options: Sendable {
        var namespaces: Set<String> = [KubernetesAPIDouble.sandboxNamespace]
        /// Bearer tokens accepted; empty with `requireClientCertificate` means certificates only.
        var tokens: Set<String> = []
        var requireClientCertificate = false
        /// Plain HTTP instead of TLS (what `kubectl proxy` serves).
        var plainHTTP = false
        /// The Role the spawner's ServiceAccount is bound to; nil allows everything.
        var policy: RolePolicy?
    }

    /// One request as the double saw it.
    struct Record: Sendable {
        var method: String
        var path: String
        var query: String
        var verb: String
        var resource: String
        var namespace: String?
        var name: String?
        var authorization: String?
        var status: Int
        /// When the answer was ready.
        var at: ContinuousClock.Instant
        /// The object a create sent, as sent.
        var sent: JSONValue?
    }

    /// A planned misbehaviour for requests of one verb and resource.
    struct Fault: Sendable {
        enum Action: Sendable {
            /// Answer this instead of doing the request.
            case answer(APIAnswer)
            /// Do the request, then hold the answer this long (an answer lost to a timeout).
            case delayAnswer(Duration)
            /// Do the request, then answer this instead (a success the client never saw).
            case performThenAnswer(APIAnswer)
        }
        var verb: String
        var resource: String
        /// How many requests it hits.
        var times: Int
        var action: Action
    }

    static let sandboxNamespace = "spawner-sandboxes"

    let cluster: FakeCluster
    let ca: TestCA
    let port: Int
    let options: Options
    private let group: ServiceGroup
    private let running: Task<Void, any Error>
    private let journal = Mutex<[Record]>([])
    private let faults = Mutex<[Fault]>([])

    var server: String { (options.plainHTTP ? "http" : "https") + "://127.0.0.1:\(port)" }
    var records: [Record] { journal.withLock { $0 } }

    static let logger = Logger(label: "kubernetes-api-double") { _ in SwiftLogNoOpLogHandler() }

    private init(cluster: FakeCluster, ca: TestCA, port: Int, options: Options, group: ServiceGroup, running: Task<Void, any Error>) {
        self.cluster = cluster
        self.ca = ca
        self.port = port
        self.options = options
        self.group = group
        self.running = running
    }

    /// Starts a double on an ephemeral port with a fresh CA.
    static func start(_ options: Options) async throws -> KubernetesAPIDouble {
        let ca = try TestCA()
        let serverCertificate = try ca.issueServer()
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(serverCertificate.certificatePEM.utf8)).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(serverCertificate.keyPEM.utf8), format: .pem)))
        if options.requireClientCertificate {
            tls.certificateVerification = .noHostnameVerification
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(ca.certificatePEM.utf8)))
        }
        let cluster = FakeCluster(namespaces: options.namespaces)
        let box = DoubleBox()
        let (portStream, portContinuation) = AsyncStream<Int>.makeStream()
        let app = Application(
            responder: CallbackResponder<BasicRequestContext> { request, _ in
                guard let double = box.double.withLock({ $0 }) else { return Response(status: .serviceUnavailable) }
                return try await double.respond(to: request)
            },
            server: options.plainHTTP ? .http1() : try .tls(.http1(), tlsConfiguration: tls),
            configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "kube-apiserver-double"),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            },
            logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        let running = Task { try await group.run() }
        var port = 0
        for await announced in portStream { port = announced }
        let double = KubernetesAPIDouble(cluster: cluster, ca: ca, port: port, options: options, group: group, running: running)
        box.double.withLock { $0 = double }
        return double
    }

    func stop() async {
        await cluster.finishStreams()
        await group.triggerGracefulShutdown()
        _ = try? await running.value
    }

    // MARK: Test controls

    func inject(_ fault: Fault) { faults.withLock { $0.append(fault) } }

    func clearFaults() { faults.withLock { $0.removeAll() } }

    func clearRecords() { journal.withLock { $0.removeAll() } }

    /// The (verb, resource) pairs of every request that reached the double.
    var permissionsUsed: Set<RolePolicy.Permission> {
        Set(records.map { RolePolicy.Permission(verb: $0.verb, resource: $0.resource) })
    }

    // MARK: Serving

    private func respond(to request: Request) async throws -> Response {
        var request = request
        let body = try await request.collectBody(upTo: 8 << 20)
        let route = Route(method: request.method.rawValue, path: request.uri.path, query: request.uri.queryParameters)
        let authorization = request.headers[.authorization]
        let answer = await answer(route, body: Array(buffer: body), authorization: authorization)
        journal.withLock {
            $0.append(
                Record(
                    method: route.method, path: route.path, query: request.uri.query ?? "", verb: route.verb, resource: route.rbacResource,
                    namespace: route.namespace, name: route.name, authorization: authorization, status: answer.status,
                    at: ContinuousClock.now, sent: route.verb == "create" ? JSONValue.parse(Array(buffer: body)) : nil))
        }
        var headers: HTTPFields = [.contentType: "application/json"]
        for (name, value) in answer.headers { headers[HTTPField.Name(name)!] = value }
        return Response(status: .init(code: answer.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: answer.body.bytes)))
    }

    private func answer(_ route: Route, body: [UInt8], authorization: String?) async -> APIAnswer {
        // Authentication: a token the double knows, or (with client certificates required) the
        // verified certificate the TLS handshake already demanded.
        if !options.tokens.isEmpty || !options.requireClientCertificate {
            guard let authorization, authorization.hasPrefix("Bearer "), options.tokens.contains(String(authorization.dropFirst(7))) else {
                return .failure(401, "Unauthorized", "Unauthorized")
            }
        }
        guard route.isNamespacedObjectPath else {
            if let policy = options.policy, !policy.allows(verb: route.verb, apiGroup: "", resource: route.rbacResource, namespace: nil) {
                return .failure(403, "Forbidden", "\(route.resource) is forbidden: User \"system:serviceaccount:spawner:spawner\" cannot \(route.verb) resource \"\(route.resource)\" in API group \"\" at the cluster scope")
            }
            return .failure(404, "NotFound", "the server could not find the requested resource")
        }
        let namespace = route.namespace!
        if let policy = options.policy, !policy.allows(verb: route.verb, apiGroup: "", resource: route.rbacResource, namespace: namespace) {
            return .failure(
                403, "Forbidden",
                "\(route.rbacResource) \"\(route.name ?? "")\" is forbidden: User \"system:serviceaccount:spawner:spawner\" cannot \(route.verb) resource \"\(route.resource)\" in API group \"\" in the namespace \"\(namespace)\"")
        }
        var delay: Duration?
        var replacement: APIAnswer?
        let planned = faults.withLock { faults -> Fault.Action? in
            guard let index = faults.firstIndex(where: { $0.verb == route.verb && $0.resource == route.resource && $0.times > 0 }) else { return nil }
            faults[index].times -= 1
            return faults[index].action
        }
        switch planned {
        case .answer(let answer)?: return answer
        case .delayAnswer(let duration)?: delay = duration
        case .performThenAnswer(let answer)?: replacement = answer
        case nil: break
        }
        let answer = await perform(route, namespace: namespace, body: body)
        if let delay { try? await Task.sleep(for: delay) }
        return replacement ?? answer
    }

    private func perform(_ route: Route, namespace: String, body: [UInt8]) async -> APIAnswer {
        guard FakeCluster.resources.contains(route.resource), route.subresource == nil else {
            return .failure(404, "NotFound", "the server could not find the requested resource")
        }
        switch (route.verb, route.name) {
        case ("create", _): return await cluster.create(route.resource, namespace: namespace, body: JSONValue.parse(body))
        case ("get", let name?): return await cluster.get(route.resource, namespace: namespace, name: name)
        case ("list", _):
            return await cluster.list(
                route.resource, namespace: namespace, labelSelector: route.query["labelSelector"], limit: route.query["limit"].flatMap { Int($0) },
                continueToken: route.query["continue"])
        case ("delete", let name?): return await cluster.delete(route.resource, namespace: namespace, name: name, options: JSONValue.parse(body))
        default: return .failure(405, "MethodNotAllowed", "\(route.verb) is not supported by the double")
        }
    }
}

/// Lets the responder reach the double made after the server started.
private final class DoubleBox: Sendable {
    let double = Mutex<KubernetesAPIDouble?>(nil)
}

/// A request path read the way the API server reads it:
/// `/api/v1/namespaces/{ns}/{resource}[/{name}[/{subresource}]]`, or a cluster-scoped `/api/v1/{resource}`.
struct Route: Sendable {
    var method: String
    var path: String
    var query: [String: String]
    var namespace: String?
    var resource = ""
    var name: String?
    var subresource: String?

    init(method: String, path: String, query: Hummingbird.Parameters) {
        self.method = method
        self.path = path
        var flat: [String: String] = [:]
        for (key, value) in query { flat[String(key)] = String(value).removingPercentEncoding ?? String(value) }
        self.query = flat
        let parts = path.split(separator: "/").map { String($0).removingPercentEncoding ?? String($0) }
        if parts.count >= 5, parts[0] == "api", parts[1] == "v1", parts[2] == "namespaces" {
            namespace = parts[3]
            resource = parts[4]
            name = parts.count > 5 ? parts[5] : nil
            subresource = parts.count > 6 ? parts[6] : nil
        } else if parts.count >= 3, parts[0] == "api", parts[1] == "v1" {
            resource = parts[2]
        }
    }

    var isNamespacedObjectPath: Bool { namespace != nil }

    /// The RBAC resource: `pods`, or `pods/exec` for a subresource.
    var rbacResource: String { subresource.map { resource + "/" + $0 } ?? resource }

    /// The RBAC verb.
    var verb: String {
        switch method {
        case "GET": return name == nil ? (query["watch"] == "true" || query["watch"] == "1" ? "watch" : "list") : "get"
        case "POST": return "create"
        case "PUT": return "update"
        case "PATCH": return "patch"
        case "DELETE": return name == nil ? "deletecollection" : "delete"
        default: return method.lowercased()
        }
    }
}
