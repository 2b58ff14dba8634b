import SpawnerCore
import SystemSupport

/// The configuration a Pod gets from its service account: the API server's address in
/// `KUBERNETES_SERVICE_HOST`/`PORT`, and under the service-account directory a token (rotated,
/// so read at each request), the cluster CA bundle and the Pod's namespace.
public struct InClusterConfig: Sendable {
    /// `/var/run/secrets/kubernetes.io/serviceaccount`; `SPAWNER_K8S_SERVICEACCOUNT_DIR`
    /// overrides it (tests, or a token mounted elsewhere).
    public static let defaultDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

    public var directory: String
    public var host: String
    public var port: String

    public var tokenPath: String { directory + "/token" }
    public var caPath: String { directory + "/ca.crt" }
    public var namespacePath: String { directory + "/namespace" }

    /// Reads the environment; throws when the spawner is not in a cluster.
    public static func resolve(environment: [String: String]) throws -> InClusterConfig {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty,
            let port = environment["KUBERNETES_SERVICE_PORT"], !port.isEmpty
        else {
            throw KubernetesConnection.Invalid(
                "not in a cluster (KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT unset) and KUBECONFIG not set: "
                    + "set KUBECONFIG to a kubeconfig file to run the kubernetes backend outside a cluster")
        }
        guard let number = Int(port), (1...65535).contains(number) else {
            throw KubernetesConnection.Invalid("KUBERNETES_SERVICE_PORT must be a port number, got \(port)")
        }
        return InClusterConfig(directory: environment["SPAWNER_K8S_SERVICEACCOUNT_DIR"] ?? defaultDirectory, host: host, port: port)
    }

    /// The connection; `readFile` reads the CA and the namespace file.
    public func connection(readFile: (String) throws -> [UInt8]) throws -> KubernetesConnection {
        let ca: [UInt8]
        do {
            ca = try readFile(caPath)
        } catch {
            throw KubernetesConnection.Invalid("cannot read the cluster CA \(caPath): \(error)")
        }
        do {
            _ = try readFile(tokenPath)
        } catch {
            throw KubernetesConnection.Invalid("cannot read the service-account token \(tokenPath): \(error)")
        }
        let namespace = (try? readFile(namespacePath)).map { String(decoding: $0, as: UTF8.self).trimmingWhitespace() }
        return KubernetesConnection(
            server: KubernetesConnection.url(scheme: "https", host: host, port: port),
            tls: try KubernetesConnection.tlsConfiguration(caPEM: ca, clientCertificatePEM: nil, clientKeyPEM: nil, insecure: false),
            credentials: .tokenFile(tokenPath), namespace: namespace?.isEmpty == false ? namespace : nil,
            source: "in-cluster service account (\(directory))")
    }
}
