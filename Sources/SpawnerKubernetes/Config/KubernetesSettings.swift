import SpawnerCore
/// The kubernetes backend's configuration (contract §3, and `docs/protocol-additions.md`):
///
/// | variable | meaning | default |
/// |---|---|---|
/// | `KUBECONFIG` | outside a cluster: kubeconfig file(s), current context | in-cluster config |
/// | `SPAWNER_K8S_NAMESPACE` | where sandbox Pods live | the kubeconfig context's or in-cluster namespace, else `default` |
/// | `SPAWNER_K8S_IMAGE` | the sandbox image | `runnerd-sandbox:local` |
/// | `SPAWNER_K8S_IMAGES` | other images a create may name (comma-separated; any other: `400`) | none |
/// | `SPAWNER_K8S_IMAGE_PULL_POLICY` | `Always`, `IfNotPresent`, `Never` | `IfNotPresent` |
/// | `SPAWNER_K8S_PROFILES` | YAML file of sandbox profiles | one built-in `default` |
/// | `SPAWNER_K8S_RUNNERD_PORT` | runnerd's port in the Pod | `8200` |
/// | `SPAWNER_K8S_SERVICEACCOUNT_DIR` | in-cluster token, `ca.crt`, `namespace` | `/var/run/secrets/kubernetes.io/serviceaccount` |
/// | `SPAWNER_K8S_USER_NAMESPACES` | `true`: Pods run in a user namespace (`hostUsers: false`) | `false` |
public struct KubernetesSettings: Sendable {
    public var connection: KubernetesConnection
    public var namespace: String
    public var image = "runnerd-sandbox:local"
    public var otherImages = ImageAllowList(variable: "SPAWNER_K8S_IMAGES")
    public var imagePullPolicy = "IfNotPresent"
    public var runnerdPort = 8200
    /// Sandbox Pods get `hostUsers: false`: runnerd's uid 0 (and the agent's 10001) map to
    /// unprivileged uids on the node. Needs nodes that support user namespaces for Pods.
    public var userNamespaces = false
    public var profiles = SandboxProfiles.builtIn
    public var retry = RetryPolicy()

    public init(connection: KubernetesConnection, namespace: String) {
        self.connection = connection
        self.namespace = namespace
    }

    /// Reads the variables above; `readFile` reads the kubeconfig, CA, key and profile files.
    public static func resolve(environment: [String: String], readFile: (String) throws -> [UInt8]) throws -> KubernetesSettings {
        let connection: KubernetesConnection
        if let paths = environment["KUBECONFIG"], !paths.isEmpty {
            connection = try Kubeconfig.load(paths: paths, readFile: readFile).connection(readFile: readFile)
        } else {
            connection = try InClusterConfig.resolve(environment: environment).connection(readFile: readFile)
        }
        let namespace = environment["SPAWNER_K8S_NAMESPACE"].flatMap { $0.isEmpty ? nil : $0 } ?? connection.namespace ?? "default"
        guard ObjectNames.isDNSLabel(namespace) else {
            throw KubernetesConnection.Invalid("SPAWNER_K8S_NAMESPACE must be a DNS label, got \(namespace)")
        }
        var settings = KubernetesSettings(connection: connection, namespace: namespace)
        if let image = environment["SPAWNER_K8S_IMAGE"], !image.isEmpty { settings.image = image }
        settings.otherImages = try ImageAllowList.resolve("SPAWNER_K8S_IMAGES", environment: environment)
        if let policy = environment["SPAWNER_K8S_IMAGE_PULL_POLICY"], !policy.isEmpty {
            guard ["Always", "IfNotPresent", "Never"].contains(policy) else {
                throw KubernetesConnection.Invalid("SPAWNER_K8S_IMAGE_PULL_POLICY must be Always, IfNotPresent or Never, got \(policy)")
            }
            settings.imagePullPolicy = policy
        }
        if let raw = environment["SPAWNER_K8S_RUNNERD_PORT"] {
            guard let port = Int(raw), (1...65535).contains(port) else {
                throw KubernetesConnection.Invalid("SPAWNER_K8S_RUNNERD_PORT must be a port number, got \(raw)")
            }
            settings.runnerdPort = port
        }
        switch environment["SPAWNER_K8S_USER_NAMESPACES"] {
        case nil, "", "false", "0": settings.userNamespaces = false
        case "true", "1": settings.userNamespaces = true
        case let other?: throw KubernetesConnection.Invalid("SPAWNER_K8S_USER_NAMESPACES must be true or false, got \(other)")
        }
        if let path = environment["SPAWNER_K8S_PROFILES"], !path.isEmpty {
            let text: String
            do {
                text = String(decoding: try readFile(path), as: UTF8.self)
            } catch {
                throw KubernetesConnection.Invalid("cannot read SPAWNER_K8S_PROFILES \(path): \(error)")
            }
            settings.profiles = try SandboxProfiles.parse(yaml: text, source: path)
        }
        return settings
    }
}
