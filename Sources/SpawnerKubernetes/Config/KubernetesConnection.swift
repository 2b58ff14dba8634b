import NIOSSL
import RunnerProtocol
import SpawnerCore
import SystemSupport

/// Where the API server is and how to prove who the spawner is: from a kubeconfig file or
/// from the service account of the Pod the spawner runs in.
public struct KubernetesConnection: Sendable {
    /// `https://host:port` (a path prefix kept, no trailing slash).
    public var server: String
    /// nil for an `http://` server (`kubectl proxy`); verification is on unless a kubeconfig
    /// says `insecure-skip-tls-verify`.
    public var tls: TLSConfiguration?
    public var credentials: Credentials
    /// The namespace the configuration names (the kubeconfig context's, or the in-cluster one).
    public var namespace: String?
    /// Where it came from, for the boot log: `kubeconfig /path (context c)`, `in-cluster`.
    public var source: String

    /// How requests authenticate besides a TLS client certificate (which lives in `tls`).
    public enum Credentials: Sendable, Equatable {
        case none
        case token(String)
        /// Read at every request: projected service-account tokens are rotated on disk.
        case tokenFile(String)

        func bearerToken() throws -> String? {
            switch self {
            case .none: return nil
            case .token(let token): return token
            case .tokenFile(let path): return String(decoding: try Syscall.readFile(path, limit: 64 << 10), as: UTF8.self).trimmingWhitespace()
            }
        }
    }

    public init(server: String, tls: TLSConfiguration?, credentials: Credentials, namespace: String?, source: String) {
        self.server = server
        self.tls = tls
        self.credentials = credentials
        self.namespace = namespace
        self.source = source
    }

    /// A configuration the spawner cannot connect with.
    public struct Invalid: Error, CustomStringConvertible, Sendable {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// The TLS client configuration: the cluster CA (else the system roots), an optional client
    /// certificate and key, all PEM.
    static func tlsConfiguration(caPEM: [UInt8]?, clientCertificatePEM: [UInt8]?, clientKeyPEM: [UInt8]?, insecure: Bool) throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caPEM {
            let roots = try parse("the cluster CA") { try NIOSSLCertificate.fromPEMBytes(caPEM) }
            guard !roots.isEmpty else { throw Invalid("the cluster CA holds no PEM certificate") }
            tls.trustRoots = .certificates(roots)
        }
        if insecure { tls.certificateVerification = .none }
        switch (clientCertificatePEM, clientKeyPEM) {
        case (let certificate?, let key?):
            let chain = try parse("the client certificate") { try NIOSSLCertificate.fromPEMBytes(certificate) }
            guard !chain.isEmpty else { throw Invalid("the client certificate holds no PEM certificate") }
            tls.certificateChain = chain.map { .certificate($0) }
            tls.privateKey = .privateKey(try parse("the client key") { try NIOSSLPrivateKey(bytes: key, format: .pem) })
        case (nil, nil):
            break
        default:
            throw Invalid("a client certificate needs both the certificate and its key")
        }
        return tls
    }

    private static func parse<T>(_ what: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw Invalid("cannot read \(what): \(error)")
        }
    }

    /// `https://host:port` with an IPv6 literal bracketed.
    static func url(scheme: String, host: String, port: String) -> String {
        let bracketed = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        return "\(scheme)://\(bracketed):\(port)"
    }
}
