import Crypto
import Foundation
import SwiftASN1
import X509

/// A certificate authority made for one test: a CA, a server certificate for 127.0.0.1 (the
/// API double) and client certificates, all PEM, none ever written outside the test's scratch.
struct TestCA: Sendable {
    struct Issued: Sendable {
        let certificatePEM: String
        let keyPEM: String
    }

    let name: String
    let certificatePEM: String
    private let certificate: Certificate
    private let key: Certificate.PrivateKey

    init(name: String = "test cluster CA") throws {
        self.name = name
        let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let subject = try DistinguishedName { CommonName(name) }
        let now = Date()
        certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: key.publicKey, notValidBefore: now - 3600, notValidAfter: now + 86_400,
            issuer: subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: key)
        self.key = key
        certificatePEM = try certificate.serializeAsPEM().pemString
    }

    /// A server certificate for the loopback address (and `dnsNames`).
    func issueServer(commonName: String = "kube-apiserver", dnsNames: [String] = []) throws -> Issued {
        try issue(commonName: commonName, serverIP: [127, 0, 0, 1], dnsNames: dnsNames)
    }

    /// A client certificate (`CN` is the user, as the API server reads it).
    func issueClient(user: String) throws -> Issued {
        try issue(commonName: user, serverIP: nil)
    }

    private func issue(commonName: String, serverIP: [UInt8]?, dnsNames: [String] = []) throws -> Issued {
        let leafKey = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let now = Date()
        let leaf = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: leafKey.publicKey, notValidBefore: now - 3600, notValidAfter: now + 86_400,
            issuer: certificate.subject, subject: try DistinguishedName { CommonName(commonName) }, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([serverIP == nil ? .clientAuth : .serverAuth])
                if let serverIP {
                    SubjectAlternativeNames([.ipAddress(ASN1OctetString(contentBytes: ArraySlice(serverIP)))] + dnsNames.map { .dnsName($0) })
                }
            },
            issuerPrivateKey: key)
        return Issued(certificatePEM: try leaf.serializeAsPEM().pemString, keyPEM: try leafKey.serializeAsPEM().pemString)
    }
}
