import Foundation
import MeshCore

/// Renders W3C DID Core documents and DID resolution results.
enum DIDDocumentRenderer {
    struct VerificationMethod: Encodable {
        var id: String
        var type = "Ed25519VerificationKey2020"
        var controller: String
        var publicKeyMultibase: String
    }

    struct Service: Encodable {
        var id: String
        var type: String
        var serviceEndpoint: String
    }

    struct Document: Encodable {
        var context = ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/ed25519-2020/v1"]
        var id: String
        var controller: String?
        var verificationMethod: [VerificationMethod]
        var authentication: [String]
        var assertionMethod: [String]
        var service: [Service]?

        enum CodingKeys: String, CodingKey {
            case context = "@context"
            case id, controller, verificationMethod, authentication, assertionMethod, service
        }
    }

    struct DocumentMetadata: Encodable {
        var created: UInt64?
        var updated: UInt64?
        var deactivated: Bool
        var versionId: String
        var device: DeviceMetadata?
    }

    struct Resolution: Encodable {
        var didDocument: Document
        var didDocumentMetadata: DocumentMetadata
        var didResolutionMetadata = ["contentType": "application/did+ld+json"]
    }

    static func resolution(did: DID, record: DIDRecord?, selfKey: Ed25519.PublicKey?, height: UInt64) throws -> [UInt8]
    {
        let id = did.description
        let keys = record?.keys ?? selfKey.map { [$0] } ?? []
        let active = !(record?.deactivated ?? false)
        let methods: [VerificationMethod] = (active ? keys : []).map { key in
            let multibase = String(DIDKey(publicKey: key).string.dropFirst(DIDKey.prefix.count))
            return VerificationMethod(id: "\(id)#\(multibase)", controller: id, publicKeyMultibase: multibase)
        }
        let references = methods.map(\.id)
        let services = record?.services.map {
            Service(id: "\(id)#\($0.id)", type: $0.type, serviceEndpoint: $0.endpoint)
        }
        let document = Document(
            id: id, controller: record?.controller.description, verificationMethod: methods,
            authentication: references, assertionMethod: references,
            service: services?.isEmpty == false ? services : nil)
        let metadata = DocumentMetadata(
            created: record?.createdHeight, updated: record?.updatedHeight, deactivated: !active,
            versionId: String(height), device: record?.metadata)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(Resolution(didDocument: document, didDocumentMetadata: metadata)))
    }
}
