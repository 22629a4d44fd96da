import MeshCore
import Testing

@testable import MeshLedger

/// The deal owner's signature on a storage upload, and its header as a provider parses it.
@Suite struct UploadAuthorizationTests {
    let owner = Ed25519.PrivateKey()
    let root = Hash256.sha256(Array("shard".utf8))

    @Test func aSignatureCoversExactlyOneShardOfOneDealOnOneChain() throws {
        let message = UploadAuthorization.shardMessage(chainId: "c", deal: 7, index: 2, root: root)
        let signed = UploadAuthorization.sign(message, key: owner)
        let parsed = try #require(UploadAuthorization(header: signed.header))
        #expect(parsed == signed)
        #expect(parsed.authorizes(message, ownerKeys: [owner.publicKey]))
        #expect(!parsed.authorizes(message, ownerKeys: [Ed25519.PrivateKey().publicKey]), "not the owner's key")
        let others = [
            UploadAuthorization.shardMessage(chainId: "d", deal: 7, index: 2, root: root),
            UploadAuthorization.shardMessage(chainId: "c", deal: 8, index: 2, root: root),
            UploadAuthorization.shardMessage(chainId: "c", deal: 7, index: 3, root: root),
            UploadAuthorization.shardMessage(chainId: "c", deal: 7, index: 2, root: .zero),
            UploadAuthorization.manifestMessage(chainId: "c", manifest: CID.raw(of: root.bytes)),
        ]
        for other in others { #expect(!parsed.authorizes(other, ownerKeys: [owner.publicKey])) }
        // A signature in another domain (a transaction's) is not an upload permission.
        let foreign = UploadAuthorization(key: owner.publicKey, signature: owner.sign(message, domain: .transaction))
        #expect(!foreign.authorizes(message, ownerKeys: [owner.publicKey]))
    }

    @Test func malformedTruncatedAndOversizeHeadersAreRefused() {
        let header = UploadAuthorization.sign([1], key: owner).header
        let parts = header.dropFirst(UploadAuthorization.scheme.count + 1).split(separator: ".")
        let bad = [
            "", "Mesh-Upload", "Mesh-Upload ", "Bearer \(parts[0]).\(parts[1])", "mesh-upload \(parts[0]).\(parts[1])",
            "Mesh-Upload \(parts[0])", "Mesh-Upload \(parts[0]).", "Mesh-Upload .\(parts[1])",
            "Mesh-Upload \(parts[0]).\(parts[1]).x", "Mesh-Upload \(parts[0].dropLast(2)).\(parts[1])",
            "Mesh-Upload \(parts[0]).\(parts[1].dropLast(3))", "Mesh-Upload \(parts[0])!.\(parts[1])",
            "Mesh-Upload " + String(repeating: "A", count: 300), String(header.dropLast()),
        ]
        for text in bad { #expect(UploadAuthorization(header: text) == nil, "\(text)") }
    }
}
