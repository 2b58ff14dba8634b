import NIOSSL

/// HTTPS for the spawner's own listener (contract v1.2 §4): with `SPAWNER_TLS_CERT` (the
/// certificate chain, PEM, leaf first) and `SPAWNER_TLS_KEY` (its private key, PEM) the
/// spawner serves HTTPS only; one without the other is refused at start.
public struct ListenerTLS: Sendable, Equatable {
    public var certificatePath: String
    public var keyPath: String

    public init(certificatePath: String, keyPath: String) {
        self.certificatePath = certificatePath
        self.keyPath = keyPath
    }

    /// The server side of TLS (1.2 at least; HTTP/1.1 over it), read from the files now.
    public func serverConfiguration() throws -> TLSConfiguration {
        let chain = try NIOSSLCertificate.fromPEMFile(certificatePath)
        guard !chain.isEmpty else { throw SpawnerConfig.Invalid("SPAWNER_TLS_CERT: no certificate in \(certificatePath)") }
        let key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = ["http/1.1"]
        return configuration
    }

    /// `SPAWNER_TLS_CERT` and `SPAWNER_TLS_KEY` (or the flags), both or neither; checked by
    /// loading them.
    static func resolve(certificate: String?, key: String?) throws -> ListenerTLS? {
        switch (certificate, key) {
        case (nil, nil): return nil
        case (let certificate?, let key?):
            let tls = ListenerTLS(certificatePath: certificate, keyPath: key)
            do {
                _ = try tls.serverConfiguration()
            } catch let error as SpawnerConfig.Invalid {
                throw error
            } catch {
                throw SpawnerConfig.Invalid("SPAWNER_TLS_CERT / SPAWNER_TLS_KEY cannot be loaded: \(error)")
            }
            return tls
        default: throw SpawnerConfig.Invalid("SPAWNER_TLS_CERT and SPAWNER_TLS_KEY go together")
        }
    }
}
