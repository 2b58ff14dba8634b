import NIOSSL
import RunnerProtocol
import SpawnerCore
import SystemSupport
import Yams

/// A kubeconfig file (`KUBECONFIG`), as kubectl reads it: the current context names a cluster
/// (server, CA) and a user (token, token file, or client certificate and key). A
/// colon-separated `KUBECONFIG` merges its files, the first to define a name winning. Paths in
/// a file are relative to that file. Exec plugins, auth providers and passwords are refused
/// with a message: the spawner runs no helper programs.
public struct Kubeconfig: Sendable {
    struct File: Decodable {
        var currentContext: String?
        var clusters: [Named<Cluster>]?
        var users: [Named<User>]?
        var contexts: [Named<Context>]?

        enum CodingKeys: String, CodingKey {
            case currentContext = "current-context"
            case clusters, users, contexts
        }
    }

    struct Named<Value: Decodable>: Decodable {
        var name: String
        var value: Value?
        enum CodingKeys: String, CodingKey { case name, cluster, user, context }
        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decode(String.self, forKey: .name)
            value =
                try container.decodeIfPresent(Value.self, forKey: .cluster) ?? container.decodeIfPresent(Value.self, forKey: .user)
                ?? container.decodeIfPresent(Value.self, forKey: .context)
        }
    }

    struct Cluster: Decodable, Sendable {
        var server: String?
        var certificateAuthority: String?
        var certificateAuthorityData: String?
        var insecureSkipTLSVerify: Bool?
        enum CodingKeys: String, CodingKey {
            case server
            case certificateAuthority = "certificate-authority"
            case certificateAuthorityData = "certificate-authority-data"
            case insecureSkipTLSVerify = "insecure-skip-tls-verify"
        }
    }

    struct User: Decodable, Sendable {
        var token: String?
        var tokenFile: String?
        var clientCertificate: String?
        var clientCertificateData: String?
        var clientKey: String?
        var clientKeyData: String?
        var exec: Present?
        var authProvider: Present?
        var username: String?
        enum CodingKeys: String, CodingKey {
            case token, tokenFile, exec, username
            case clientCertificate = "client-certificate"
            case clientCertificateData = "client-certificate-data"
            case clientKey = "client-key"
            case clientKeyData = "client-key-data"
            case authProvider = "auth-provider"
        }
    }

    /// Any value: only its presence matters.
    struct Present: Decodable, Sendable {
        init(from decoder: any Decoder) throws {}
    }

    struct Context: Decodable, Sendable {
        var cluster: String?
        var user: String?
        var namespace: String?
    }

    /// An entry and the directory of the file that defined it (for its relative paths).
    struct Located<Value: Sendable>: Sendable {
        var value: Value
        var directory: String
    }

    var currentContext: String?
    var clusters: [String: Located<Cluster>] = [:]
    var users: [String: Located<User>] = [:]
    var contexts: [String: Context] = [:]

    /// Reads and merges the files of `KUBECONFIG` (`a:b:c`).
    public static func load(paths: String, readFile: (String) throws -> [UInt8]) throws -> Kubeconfig {
        var merged = Kubeconfig()
        let list = paths.split(separator: ":").map(String.init).filter { !$0.isEmpty }
        guard !list.isEmpty else { throw KubernetesConnection.Invalid("KUBECONFIG is empty") }
        for path in list {
            let text: String
            do {
                text = String(decoding: try readFile(path), as: UTF8.self)
            } catch {
                throw KubernetesConnection.Invalid("cannot read the kubeconfig \(path): \(error)")
            }
            let file: File
            do {
                file = try YAMLDecoder().decode(File.self, from: text)
            } catch {
                throw KubernetesConnection.Invalid("the kubeconfig \(path) is not valid: \(error)")
            }
            let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
            if merged.currentContext == nil, let current = file.currentContext, !current.isEmpty { merged.currentContext = current }
            for entry in file.clusters ?? [] where merged.clusters[entry.name] == nil {
                if let cluster = entry.value { merged.clusters[entry.name] = Located(value: cluster, directory: directory) }
            }
            for entry in file.users ?? [] where merged.users[entry.name] == nil {
                merged.users[entry.name] = Located(value: entry.value ?? User(), directory: directory) as Located<User>
            }
            for entry in file.contexts ?? [] where merged.contexts[entry.name] == nil {
                if let context = entry.value { merged.contexts[entry.name] = context }
            }
        }
        return merged
    }

    /// The connection of the current context; `readFile` reads the files it names.
    public func connection(readFile: (String) throws -> [UInt8]) throws -> KubernetesConnection {
        guard let contextName = currentContext else { throw KubernetesConnection.Invalid("the kubeconfig sets no current-context") }
        guard let context = contexts[contextName] else { throw KubernetesConnection.Invalid("the kubeconfig has no context \(contextName)") }
        guard let clusterName = context.cluster, let cluster = clusters[clusterName] else {
            throw KubernetesConnection.Invalid("context \(contextName) names no cluster the kubeconfig defines")
        }
        guard var server = cluster.value.server, server.hasPrefix("https://") || server.hasPrefix("http://") else {
            throw KubernetesConnection.Invalid("cluster \(clusterName) has no https:// or http:// server")
        }
        while server.hasSuffix("/") { server.removeLast() }

        let user = context.user.flatMap { users[$0] }
        if let user {
            if user.value.exec != nil || user.value.authProvider != nil {
                throw KubernetesConnection.Invalid(
                    "user \(context.user!) authenticates through an exec plugin or auth provider, which the spawner does not run: "
                        + "give it a token, a tokenFile or a client certificate")
            }
            if user.value.username != nil { throw KubernetesConnection.Invalid("user \(context.user!) uses basic auth, which the spawner does not support") }
        }
        func data(_ inline: String?, _ path: String?, directory: String, _ what: String) throws -> [UInt8]? {
            if let inline {
                guard let bytes = Base64.decode(inline.filter { !$0.isWhitespace }) else { throw KubernetesConnection.Invalid("\(what) data is not base64") }
                return bytes
            }
            guard let path else { return nil }
            let resolved = path.hasPrefix("/") ? path : directory + "/" + path
            do {
                return try readFile(resolved)
            } catch {
                throw KubernetesConnection.Invalid("cannot read \(what) \(resolved): \(error)")
            }
        }

        var tls: TLSConfiguration?
        if server.hasPrefix("https://") {
            let ca = try data(cluster.value.certificateAuthorityData, cluster.value.certificateAuthority, directory: cluster.directory, "the cluster CA")
            let certificate = try user.flatMap {
                try data($0.value.clientCertificateData, $0.value.clientCertificate, directory: $0.directory, "the client certificate")
            }
            let key = try user.flatMap { try data($0.value.clientKeyData, $0.value.clientKey, directory: $0.directory, "the client key") }
            tls = try KubernetesConnection.tlsConfiguration(
                caPEM: ca, clientCertificatePEM: certificate, clientKeyPEM: key, insecure: cluster.value.insecureSkipTLSVerify == true)
        }

        var credentials = KubernetesConnection.Credentials.none
        if let user {
            if let token = user.value.token, !token.isEmpty {
                credentials = .token(token)
            } else if let file = user.value.tokenFile {
                credentials = .tokenFile(file.hasPrefix("/") ? file : user.directory + "/" + file)
            }
        }
        return KubernetesConnection(
            server: server, tls: tls, credentials: credentials, namespace: context.namespace.flatMap { $0.isEmpty ? nil : $0 },
            source: "kubeconfig context \(contextName)")
    }
}
