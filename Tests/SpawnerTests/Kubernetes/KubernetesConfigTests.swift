import Foundation
import RunnerProtocol
@testable import SpawnerCore
import SpawnerBackends
@testable import SpawnerKubernetes
import Testing

/// Configuration of the kubernetes backend: kubeconfig files (current context, server, CA as
/// data or a relative file, token, token file, client certificate; merged lists), in-cluster
/// configuration (service-account directory, KUBERNETES_SERVICE_HOST/PORT), the namespace's
/// precedence, profiles. No network: files come from a dictionary.
@Suite(.timeLimit(.minutes(2))) struct KubernetesConfigTests {
    static let ca = try! TestCA()
    static let client = try! ca.issueClient(user: "alice")

    static func reader(_ files: [String: String]) -> (String) throws -> [UInt8] {
        { path in
            guard let text = files[path] else { throw NoSuchFile(path: path) }
            return Array(text.utf8)
        }
    }

    static func kubeconfig(server: String = "https://10.0.0.1:6443", cluster: String, user: String, namespace: String? = nil, current: String = "main") -> String {
        """
        apiVersion: v1
        kind: Config
        current-context: \(current)
        clusters:
        - name: c
          cluster:
            server: \(server)
        \(cluster)
        users:
        - name: u
          user:
        \(user)
        contexts:
        - name: main
          context:
            cluster: c
            user: u
        \(namespace.map { "    namespace: \($0)" } ?? "")
        """
    }

    static var caData: String { "    certificate-authority-data: " + Data(ca.certificatePEM.utf8).base64EncodedString() }

    @Test func kubeconfigWithTokenAndInlineCA() throws {
        let config = Self.kubeconfig(cluster: Self.caData, user: "    token: abc123", namespace: "work")
        let connection = try Kubeconfig.load(paths: "/k/config", readFile: Self.reader(["/k/config": config])).connection(readFile: Self.reader([:]))
        #expect(connection.server == "https://10.0.0.1:6443")
        #expect(connection.credentials == .token("abc123"))
        #expect(connection.namespace == "work")
        #expect(connection.tls?.certificateVerification == .fullVerification)
        #expect(connection.tls?.trustRoots != nil)
        #expect(connection.tls?.certificateChain.isEmpty == true)
    }

    @Test func relativePathsAreRelativeToTheKubeconfig() throws {
        let config = Self.kubeconfig(
            server: "https://api.example:443/", cluster: "    certificate-authority: certs/ca.pem",
            user: "    client-certificate: certs/client.pem\n    client-key: /abs/key.pem")
        let files = [
            "/home/k/config": config, "/home/k/certs/ca.pem": Self.ca.certificatePEM, "/home/k/certs/client.pem": Self.client.certificatePEM,
            "/abs/key.pem": Self.client.keyPEM,
        ]
        let connection = try Kubeconfig.load(paths: "/home/k/config", readFile: Self.reader(files)).connection(readFile: Self.reader(files))
        #expect(connection.server == "https://api.example:443")
        #expect(connection.credentials == .none)
        #expect(connection.tls?.certificateChain.count == 1)
        #expect(connection.tls?.privateKey != nil)
    }

    @Test func tokenFileIsReadAtEachRequest() throws {
        let config = Self.kubeconfig(cluster: Self.caData, user: "    tokenFile: secrets/token")
        let connection = try Kubeconfig.load(paths: "/k/config", readFile: Self.reader(["/k/config": config])).connection(readFile: Self.reader([:]))
        #expect(connection.credentials == .tokenFile("/k/secrets/token"))
    }

    @Test func mergedFilesFirstDefinitionWins() throws {
        let first = """
            current-context: second
            contexts:
            - name: second
              context: {cluster: shared, user: me}
            users:
            - name: me
              user: {token: from-first}
            """
        let second = """
            clusters:
            - name: shared
              cluster: {server: "http://127.0.0.1:8001"}
            users:
            - name: me
              user: {token: from-second}
            """
        let files = ["/a": first, "/b": second]
        let connection = try Kubeconfig.load(paths: "/a:/b", readFile: Self.reader(files)).connection(readFile: Self.reader(files))
        #expect(connection.server == "http://127.0.0.1:8001")
        #expect(connection.tls == nil)  // plain http (kubectl proxy)
        #expect(connection.credentials == .token("from-first"))
    }

    @Test func unsupportedOrBrokenKubeconfigsSayWhy() throws {
        func message(_ config: String, files: [String: String] = [:]) -> String {
            let all = files.merging(["/k": config]) { $1 }
            do {
                _ = try Kubeconfig.load(paths: "/k", readFile: Self.reader(all)).connection(readFile: Self.reader(all))
                return "accepted"
            } catch {
                return "\(error)"
            }
        }
        #expect(message(Self.kubeconfig(cluster: "", user: "    exec: {command: aws}")).contains("exec plugin"))
        #expect(message(Self.kubeconfig(cluster: "", user: "    username: bob")).contains("basic auth"))
        #expect(message(Self.kubeconfig(cluster: "", user: "    token: t", current: "missing")).contains("no context missing"))
        #expect(message(Self.kubeconfig(server: "ftp://x", cluster: "", user: "    token: t")).contains("https://"))
        #expect(message(Self.kubeconfig(cluster: "    certificate-authority: /nope.pem", user: "    token: t")).contains("/nope.pem"))
        #expect(message(Self.kubeconfig(cluster: "    certificate-authority-data: bm90IGEgY2VydA==", user: "    token: t")).contains("cluster CA"))
        #expect(message(Self.kubeconfig(cluster: "", user: "    client-certificate-data: eA==")).contains("both"))
        #expect(message("clusters: [oops").contains("not valid"))
    }

    @Test func inClusterConfigurationFromTheServiceAccountDirectory() throws {
        let environment = ["KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443", "SPAWNER_K8S_SERVICEACCOUNT_DIR": "/sa"]
        let files = ["/sa/token": "tok", "/sa/ca.crt": Self.ca.certificatePEM, "/sa/namespace": "team-a\n"]
        let connection = try InClusterConfig.resolve(environment: environment).connection(readFile: Self.reader(files))
        #expect(connection.server == "https://[fd00::1]:443")
        #expect(connection.credentials == .tokenFile("/sa/token"))
        #expect(connection.namespace == "team-a")
        #expect(throws: KubernetesConnection.Invalid.self) { try InClusterConfig.resolve(environment: [:]) }
        #expect(throws: KubernetesConnection.Invalid.self) {
            try InClusterConfig.resolve(environment: environment).connection(readFile: Self.reader(["/sa/token": "tok"]))
        }
        #expect(InClusterConfig.defaultDirectory == "/var/run/secrets/kubernetes.io/serviceaccount")
    }

    @Test func spawnerConfigSelectsTheBackendAndItsNamespace() throws {
        let secret = String(repeating: "s", count: 32)
        let files = ["/k": Self.kubeconfig(cluster: Self.caData, user: "    token: t", namespace: "ctx-ns"), "/p.yaml": "profiles:\n  default: {egress: true}\n"]
        func resolve(_ extra: [String: String]) throws -> SpawnerConfig {
            try SpawnerConfig.resolve(
                environment: ["SPAWNER_SECRET": secret].merging(extra) { $1 }, flags: .init(),
                defaults: .init(dataDir: "/d", runnerdPath: "/r"), readFile: Self.reader(files))
        }
        #expect(!(try resolve([:]).backend is KubernetesSettings))
        let fromContext = try #require(try resolve(["SPAWNER_BACKEND": "kubernetes", "KUBECONFIG": "/k"]).backend as? KubernetesSettings)
        #expect(fromContext.namespace == "ctx-ns")
        #expect(fromContext.image == "runnerd-sandbox:local")
        #expect(fromContext.runnerdPort == 8200)
        #expect(fromContext.profiles == .builtIn)
        let explicit = try #require(
            try resolve([
                "SPAWNER_BACKEND": "kubernetes", "KUBECONFIG": "/k", "SPAWNER_K8S_NAMESPACE": "sandboxes", "SPAWNER_K8S_IMAGE": "registry/sandbox:1",
                "SPAWNER_K8S_PROFILES": "/p.yaml", "SPAWNER_K8S_RUNNERD_PORT": "9200",
            ]).backend as? KubernetesSettings)
        #expect(explicit.namespace == "sandboxes" && explicit.image == "registry/sandbox:1" && explicit.runnerdPort == 9200)
        #expect(explicit.profiles.profiles["default"]?.egress == true)
        #expect((try resolve(["SPAWNER_BACKEND": "kubernetes", "KUBECONFIG": "/k", "SPAWNER_K8S_USER_NAMESPACES": "true"]).backend as? KubernetesSettings)?.userNamespaces == true)
        #expect(throws: SpawnerConfig.Invalid.self) { try resolve(["SPAWNER_BACKEND": "kubernetes", "KUBECONFIG": "/k", "SPAWNER_K8S_USER_NAMESPACES": "maybe"]) }
        #expect(throws: SpawnerConfig.Invalid.self) { try resolve(["SPAWNER_BACKEND": "cloud"]) }
        #expect(throws: SpawnerConfig.Invalid.self) { try resolve(["SPAWNER_BACKEND": "kubernetes"]) }  // neither KUBECONFIG nor a cluster
        #expect(throws: SpawnerConfig.Invalid.self) { try resolve(["SPAWNER_BACKEND": "kubernetes", "KUBECONFIG": "/k", "SPAWNER_K8S_NAMESPACE": "Bad_NS"]) }
        #expect(throws: SpawnerConfig.Invalid.self) { try resolve(["SPAWNER_BACKEND": "kubernetes", "KUBECONFIG": "/k", "SPAWNER_K8S_RUNNERD_PORT": "0"]) }
    }

    @Test func profilesAreCheckedWhenRead() throws {
        let good = try SandboxProfiles.parse(
            yaml: "profiles:\n  big:\n    resources: {limits: {cpu: \"1.5\", memory: 2Gi}}\n    workspace: {size: 10Gi, keep: true}\n", source: "p")
        #expect(good.profiles["big"]?.workspace == .init(storageClassName: nil, size: "10Gi", keep: true))
        #expect(throws: KubernetesConnection.Invalid.self) { try SandboxProfiles.parse(yaml: "profiles:\n  x: {resources: {limits: {memory: lots}}}\n", source: "p") }
        #expect(throws: KubernetesConnection.Invalid.self) { try SandboxProfiles.parse(yaml: "profiles:\n  x: {workspace: {size: 1Q}}\n", source: "p") }
        for valid in ["1", "500m", "1.5Gi", "2e3", "0.1", "+1Ki"] { #expect(Quantity.isValid(valid), "\(valid)") }
        for invalid in ["", "Gi", "1.2.3", "1 Gi", "1GB", "e3", "1e"] { #expect(!Quantity.isValid(invalid), "\(invalid)") }
    }
}
