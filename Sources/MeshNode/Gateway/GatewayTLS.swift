import Crypto
import Foundation
import SwiftASN1
import X509

/// The MQTT TLS listener's certificate: when the configured files are missing, a self-signed
/// P-256 certificate for `localhost` and `127.0.0.1` is made (valid ten years), so a devnet has
/// TLS without set-up; devices trust it with `--cafile <home>/mqtt-tls.crt`. Production nodes
/// configure a certificate from their own CA instead.
enum GatewayTLS {
    /// Makes the certificate and key at these paths when neither exists; returns whether it made
    /// them. One without the other is an error: a mistyped path must not replace a real certificate.
    @discardableResult
    static func ensureCertificate(certificatePath: String, keyPath: String, commonName: String) throws -> Bool {
        let files = FileManager.default
        switch (files.fileExists(atPath: certificatePath), files.fileExists(atPath: keyPath)) {
        case (true, true): return false
        case (true, false): throw NodeError.missingFile(keyPath + " (the TLS key of \(certificatePath))")
        case (false, true): throw NodeError.missingFile(certificatePath + " (the TLS certificate for \(keyPath))")
        case (false, false): break
        }
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName(commonName) }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: Certificate.PublicKey(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(10 * 365 * 86400),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(digitalSignature: true, keyCertSign: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames([
                    .dnsName("localhost"), .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1])),
                ])
            },
            issuerPrivateKey: Certificate.PrivateKey(key))
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        let pem = PEMDocument(type: "CERTIFICATE", derBytes: serializer.serializedBytes).pemString
        // The key first and owner-only, so a crash never leaves a certificate without its key.
        guard
            files.createFile(
                atPath: keyPath, contents: Data(key.pemRepresentation.utf8), attributes: [.posixPermissions: 0o600])
        else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: keyPath]) }
        try Data((pem + "\n").utf8).write(to: URL(fileURLWithPath: certificatePath), options: .atomic)
        return true
    }
}
