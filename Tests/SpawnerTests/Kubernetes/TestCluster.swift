import AsyncHTTPClient
import Foundation
import NIOHTTP1
import NIOSSL
import RunnerProtocol
@testable import SpawnerCore
@testable import SpawnerKubernetes
import Testing

/// One test's cluster: the API double (TLS, a CA of its own, the Role from
/// `deploy/kubernetes/10-rbac.yaml` enforced), the loopback kubelet running real runnerds, and
/// the files a spawner needs to reach it (kubeconfig, service-account directory, profiles).
final class TestCluster: Sendable {
    let double: KubernetesAPIDouble
    let kubelet: LoopbackKubelet
    let scratch: String
    let token: String

    var namespace: String { KubernetesAPIDouble.sandboxNamespace }
    var cluster: FakeCluster { double.cluster }

    /// The repository's root (for `deploy/kubernetes/`).
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let manifests = repositoryRoot + "/deploy/kubernetes"

    /// The Role the deployment binds the spawner to.
    static func role() throws -> RolePolicy { try RolePolicy.load(path: manifests + "/10-rbac.yaml", roleName: "spawner-sandboxes") }

    /// Profiles the tests use: the default (emptyDir), a claim, a kept claim, egress, and one
    /// whose requests the double refuses.
    static let profilesYAML = """
        profiles:
          default:
            resources:
              requests: {cpu: 50m, memory: 64Mi}
              limits: {cpu: "1", memory: 512Mi}
            emptyDirSizeLimit: 1Gi
          storage:
            workspace: {storageClassName: fast, size: 1Gi}
          kept:
            workspace: {size: 1Gi, keep: true}
          egress:
            egress: true
        """

    private init(double: KubernetesAPIDouble, kubelet: LoopbackKubelet, scratch: String, token: String) {
        self.double = double
        self.kubelet = kubelet
        self.scratch = scratch
        self.token = token
    }

    /// Starts a cluster; `configure` adjusts the double's options (the token and the Role are set).
    static func start(_ configure: (inout KubernetesAPIDouble.Options) -> Void = { _ in }) async throws -> TestCluster {
        let scratch = TestPaths.makeTempDir("k8s-cluster")
        let token = "sa-token-" + TestPaths.makeSecret().prefix(24)
        var options = KubernetesAPIDouble.Options()
        options.tokens = [token]
        let double: KubernetesAPIDouble
        do {
            options.policy = try role()
            configure(&options)
            double = try await KubernetesAPIDouble.start(options)
        } catch {
            TestPaths.remove(scratch)
            throw error
        }
        let kubelet = LoopbackKubelet(cluster: double.cluster, scratch: scratch + "/node", runnerdPath: TestPaths.runnerd)
        let cluster = TestCluster(double: double, kubelet: kubelet, scratch: scratch, token: token)
        do {
            try FileManager.default.createDirectory(atPath: scratch + "/node", withIntermediateDirectories: true)
            await kubelet.start()
            try profilesYAML.write(toFile: cluster.profilesPath, atomically: true, encoding: .utf8)
            try double.ca.certificatePEM.write(toFile: cluster.caPath, atomically: true, encoding: .utf8)
        } catch {
            await cluster.stop()
            throw error
        }
        return cluster
    }

    func stop() async {
        await kubelet.shutdown()
        await double.stop()
        TestPaths.remove(scratch)
    }

    var profilesPath: String { scratch + "/profiles.yaml" }
    var caPath: String { scratch + "/ca.crt" }

    // MARK: Configurations

    enum Credentials {
        case token
        case tokenFile
        case clientCertificate
        case none
    }

    /// Writes a kubeconfig for the double; returns its path.
    func writeKubeconfig(credentials: Credentials = .token, inlineCA: Bool = true, caPEM: String? = nil, namespace: String? = nil) throws -> String {
        let directory = scratch + "/kubeconfig-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let ca = caPEM ?? double.ca.certificatePEM
        var cluster = "    server: \(double.server)\n"
        if inlineCA {
            cluster += "    certificate-authority-data: \(Data(ca.utf8).base64EncodedString())\n"
        } else {
            try ca.write(toFile: directory + "/ca.pem", atomically: true, encoding: .utf8)
            cluster += "    certificate-authority: ca.pem\n"  // relative to the kubeconfig
        }
        var user = "    {}\n"
        switch credentials {
        case .token:
            user = "    token: \(token)\n"
        case .tokenFile:
            try token.write(toFile: directory + "/token", atomically: true, encoding: .utf8)
            user = "    tokenFile: \(directory)/token\n"
        case .clientCertificate:
            let issued = try double.ca.issueClient(user: "system:serviceaccount:spawner:spawner")
            try issued.certificatePEM.write(toFile: directory + "/client.crt", atomically: true, encoding: .utf8)
            user = "    client-certificate: client.crt\n    client-key-data: \(Data(issued.keyPEM.utf8).base64EncodedString())\n"
        case .none:
            break
        }
        let text = """
            apiVersion: v1
            kind: Config
            clusters:
            - name: other
              cluster:
                server: https://127.0.0.1:1
            - name: double
              cluster:
            \(cluster)users:
            - name: spawner
              user:
            \(user)contexts:
            - name: elsewhere
              context: {cluster: other, user: spawner}
            - name: test
              context:
                cluster: double
                user: spawner
            \(namespace.map { "    namespace: \($0)\n" } ?? "")current-context: test

            """
        let path = directory + "/config"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A service-account directory as a Pod gets one, and the environment naming it and the
    /// double (in-cluster configuration).
    func inClusterEnvironment() throws -> [String: String] {
        let directory = scratch + "/serviceaccount"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try token.write(toFile: directory + "/token", atomically: true, encoding: .utf8)
        try double.ca.certificatePEM.write(toFile: directory + "/ca.crt", atomically: true, encoding: .utf8)
        try namespace.write(toFile: directory + "/namespace", atomically: true, encoding: .utf8)
        return [
            "SPAWNER_BACKEND": "kubernetes", "KUBECONFIG": "", "KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": String(double.port),
            "SPAWNER_K8S_SERVICEACCOUNT_DIR": directory, "SPAWNER_K8S_PROFILES": profilesPath,
        ]
    }

    /// The environment of a `spawner serve` on this cluster through a kubeconfig.
    func spawnerEnvironment(kubeconfig: String? = nil, extra: [String: String] = [:]) throws -> [String: String] {
        var environment = [
            "SPAWNER_BACKEND": "kubernetes", "KUBECONFIG": try kubeconfig ?? writeKubeconfig(), "SPAWNER_K8S_NAMESPACE": namespace,
            "SPAWNER_K8S_PROFILES": profilesPath,
        ]
        environment.merge(extra) { $1 }
        return environment
    }

    /// Settings for an in-process spawner, resolved the way `spawner serve` resolves them.
    func settings(kubeconfig: String? = nil) throws -> KubernetesSettings {
        try KubernetesSettings.resolve(environment: try spawnerEnvironment(kubeconfig: kubeconfig)) { path in
            Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        }
    }

    /// The status of one request to the double, made with the spawner's token (or `token`)
    /// over TLS trusting the test CA.
    func rawStatus(_ method: HTTPMethod, _ path: String, token: String? = nil) async throws -> Int {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(double.ca.certificatePEM.utf8)))
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: .init(tlsConfiguration: tls))
        var request = HTTPClientRequest(url: double.server + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token ?? self.token)")
        do {
            let response = try await client.execute(request, timeout: .seconds(30))
            _ = try await response.body.collect(upTo: 1 << 20)
            try await client.shutdown()
            return Int(response.status.code)
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    // MARK: What is there

    func pods() async -> [JSONValue] { await cluster.all("pods", namespace: namespace) }
    func secrets() async -> [JSONValue] { await cluster.all("secrets", namespace: namespace) }
    func claims() async -> [JSONValue] { await cluster.all("persistentvolumeclaims", namespace: namespace) }
    func pod(_ name: String) async -> JSONValue? { await cluster.object("pods", namespace: namespace, name: name) }

    /// Nothing of any kind in the namespace and no runnerd running.
    func isEmpty() async -> Bool { await cluster.count(namespace: namespace) == 0 && kubelet.runningPIDs.isEmpty }

    /// Records an issue naming what is left unless the namespace is empty and no runnerd runs
    /// (within `timeout`).
    func expectEmpty(within timeout: Duration = .zero, sourceLocation: SourceLocation = #_sourceLocation) async {
        let deadline = ContinuousClock.now + timeout
        while !(await isEmpty()), ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        if !(await isEmpty()) { Issue.record("left in the cluster: \(await inventory())", sourceLocation: sourceLocation) }
    }

    /// A summary for failure messages.
    func inventory() async -> String {
        let names = { (objects: [JSONValue]) in objects.compactMap { $0["metadata"]?["name"]?.string }.joined(separator: ",") }
        return "pods [\(names(await pods()))] secrets [\(names(await secrets()))] claims [\(names(await claims()))] runnerds \(kubelet.runningPIDs)"
    }
}

/// Runs `body` with a fresh cluster and always stops it.
func withTestCluster<T>(
    _ configure: (inout KubernetesAPIDouble.Options) -> Void = { _ in }, _ body: (TestCluster) async throws -> T
) async throws -> T {
    let cluster = try await TestCluster.start(configure)
    do {
        let result = try await body(cluster)
        await cluster.stop()
        return result
    } catch {
        await cluster.stop()
        throw error
    }
}
