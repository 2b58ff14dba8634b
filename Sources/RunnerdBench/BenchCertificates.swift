import Crypto
import FoundationEssentials
import SwiftASN1
import SystemSupport
import X509

/// A CA and a server certificate for 127.0.0.1 made for one run of the benchmark, as PEM files
/// in `directory` (`ca.pem`, `server.pem`, `server-key.pem`).
struct BenchCertificates {
    let ca: String
    let certificate: String
    let key: String

    init(directory: String) throws {
        let caKey = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let caName = try DistinguishedName { CommonName("runnerd-bench CA") }
        let now = Date()
        let authority = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: caKey.publicKey, notValidBefore: now - 3600, notValidAfter: now + 86_400,
            issuer: caName, subject: caName, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: caKey)
        let serverKey = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let server = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: serverKey.publicKey, notValidBefore: now - 3600, notValidAfter: now + 86_400,
            issuer: caName, subject: try DistinguishedName { CommonName("spawner") }, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames([.ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1]))])
            },
            issuerPrivateKey: caKey)
        ca = directory + "/ca.pem"
        certificate = directory + "/server.pem"
        key = directory + "/server-key.pem"
        try Syscall.writeFileAtomically(ca, Array(try authority.serializeAsPEM().pemString.utf8))
        try Syscall.writeFileAtomically(certificate, Array(try server.serializeAsPEM().pemString.utf8))
        try Syscall.writeFileAtomically(key, Array(try serverKey.serializeAsPEM().pemString.utf8))
    }
}
