import Foundation
import MeshCore
import Testing

@Suite struct KeystoreTests {
    let home: String
    let keystore: Keystore

    init() throws {
        home = NSTemporaryDirectory() + "meshwork-keystore-\(UUID().uuidString)"
        keystore = Keystore(home: home, cost: .testing)
    }

    private func seed(_ byte: UInt8) throws -> Ed25519.PrivateKey {
        try Ed25519.PrivateKey(seed: [UInt8](repeating: byte, count: 32))
    }

    private func overwrite(_ name: String, with data: Data) throws {
        try data.write(to: URL(fileURLWithPath: keystore.path(of: name)))
    }

    @Test func sealedKeysUnlockWithTheirPassphraseOnly() throws {
        let key = try seed(1)
        let entry = try keystore.save(key, name: "v0", protection: .passphrase("correct horse"))
        #expect(entry.isEncrypted)
        #expect(try keystore.unlock("v0", passphrase: "correct horse").seed == key.seed)
        #expect(throws: KeystoreError.wrongPassphrase(name: "v0")) { try keystore.unlock("v0", passphrase: "wrong") }
        #expect(throws: KeystoreError.passphraseRequired) { try keystore.unlock("v0", passphrase: nil) }
        #expect(throws: KeystoreError.emptyPassphrase) { try keystore.unlock("v0", passphrase: "") }
        let text = try String(contentsOfFile: keystore.path(of: "v0"), encoding: .utf8)
        #expect(!text.contains(Hex.encode(key.seed)))
    }

    @Test func keyFilesAreOwnerOnly() throws {
        try keystore.save(try seed(2), name: "private", protection: .passphrase("p"))
        let attributes = try FileManager.default.attributesOfItem(atPath: keystore.path(of: "private"))
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
    }

    @Test func plaintextKeysNeedNoPassphrase() throws {
        let key = try seed(3)
        try keystore.save(key, name: "fleet-1", protection: .insecurePlaintext)
        #expect(try keystore.unlock("fleet-1", passphrase: nil).publicKey == key.publicKey)
        #expect(try keystore.metadata(of: "fleet-1").isEncrypted == false)
    }

    @Test func namesAreUniqueAndValidated() throws {
        try keystore.save(try seed(4), name: "a", protection: .insecurePlaintext)
        #expect(throws: KeystoreError.alreadyExists(name: "a")) {
            try keystore.save(try seed(5), name: "a", protection: .insecurePlaintext)
        }
        for bad in ["", ".hidden", "a/b", "../x", String(repeating: "n", count: 65), "spa ce"] {
            #expect(throws: KeystoreError.invalidName(bad)) {
                try keystore.save(try seed(6), name: bad, protection: .insecurePlaintext)
            }
        }
        #expect(throws: KeystoreError.notFound(name: "missing")) { try keystore.unlock("missing", passphrase: "x") }
    }

    @Test func listAndDelete() throws {
        try keystore.save(try seed(7), name: "b", protection: .insecurePlaintext)
        try keystore.save(try seed(8), name: "a", protection: .insecurePlaintext)
        #expect(try keystore.list().map(\.name) == ["a", "b"])
        try keystore.delete("a")
        #expect(try keystore.list().map(\.name) == ["b"])
        #expect(throws: KeystoreError.notFound(name: "a")) { try keystore.delete("a") }
    }

    @Test func truncatedMalformedAndOversizeFilesGiveClearErrors() throws {
        try keystore.save(try seed(9), name: "k", protection: .passphrase("pw"))
        let good = try Data(contentsOf: URL(fileURLWithPath: keystore.path(of: "k")))
        for length in stride(from: 0, to: good.count, by: 7) {
            try overwrite("k", with: good.prefix(length))
            #expect(throws: KeystoreError.self) { try keystore.unlock("k", passphrase: "pw") }
        }
        try overwrite("k", with: Data(repeating: 0x20, count: KeyFile.fileBytesMax + 1))
        #expect(
            throws: KeystoreError.fileTooLarge(
                path: keystore.path(of: "k"), size: KeyFile.fileBytesMax + 1, limit: KeyFile.fileBytesMax)
        ) {
            try keystore.unlock("k", passphrase: "pw")
        }
        try overwrite("k", with: Data([0xff, 0xfe, 0x00]))
        #expect(throws: KeystoreError.self) { try keystore.metadata(of: "k") }
    }

    @Test func tamperedFieldsAreRejectedBeforeOrAtDecryption() throws {
        try keystore.save(try seed(10), name: "k", protection: .passphrase("pw"))
        let good = try KeyFile.decode(try Data(contentsOf: URL(fileURLWithPath: keystore.path(of: "k"))), path: "k")
        var mutations: [(String, (inout KeyFile) -> Void)] = []
        mutations.append(("version", { $0.version = 2 }))
        mutations.append(("kdf", { $0.seal?.kdf = "md5" }))
        mutations.append(("weak n", { $0.seal?.n = 1024 }))
        mutations.append(("huge n", { $0.seal?.n = 1 << 30 }))
        mutations.append(("short salt", { $0.seal?.salt = "00" }))
        mutations.append(("nonce", { $0.seal?.nonce = "zz" }))
        mutations.append(("did mismatch", { $0.did = "did:key:z6MkjchhfUsD6mmvni8mCdXHw216Xrm9bQe2mBH1P5RDjVJG" }))
        mutations.append(("both", { $0.plaintextSeed = String(repeating: "0", count: 64) }))
        mutations.append(("neither", { $0.seal = nil }))
        for (label, mutate) in mutations {
            var file = good
            mutate(&file)
            try overwrite("k", with: file.encoded())
            #expect(throws: KeystoreError.self, "\(label)") { try keystore.unlock("k", passphrase: "pw") }
        }
        // A flipped ciphertext byte or a swapped public key fails authentication.
        var flipped = good
        let sealed = try Hex.decode(try #require(good.seal?.ciphertext))
        flipped.seal?.ciphertext = Hex.encode([sealed[0] ^ 1] + sealed.dropFirst())
        try overwrite("k", with: flipped.encoded())
        #expect(throws: KeystoreError.wrongPassphrase(name: "k")) { try keystore.unlock("k", passphrase: "pw") }
        var swapped = good
        let other = try seed(11).publicKey
        swapped.publicKey = other.hex
        swapped.did = DIDKey(publicKey: other).string
        try overwrite("k", with: swapped.encoded())
        #expect(throws: KeystoreError.wrongPassphrase(name: "k")) { try keystore.unlock("k", passphrase: "pw") }
    }
}
