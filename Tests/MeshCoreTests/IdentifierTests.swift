import MeshCore
import Testing

@Suite struct IdentifierTests {
    @Test func didKeyReproducesTheW3CVectors() throws {
        let fixture = try Fixture.json("did-key-ed25519.json")
        let vectors = try #require(fixture["vectors"] as? [[String: String]])
        #expect(vectors.count == 5)
        for vector in vectors {
            let seed = try Hex.decode(try #require(vector["seed"]))
            let key = try Ed25519.PrivateKey(seed: seed)
            let did = try #require(vector["did"])
            #expect(DIDKey(publicKey: key.publicKey).string == did)
            #expect(Base58.encode(key.publicKey.rawBytes) == vector["publicKeyBase58"])
            #expect(try DIDKey(string: did).publicKey == key.publicKey)
        }
    }

    @Test func malformedDIDKeysAreRejected() {
        let valid = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
        #expect(throws: IdentifierError.empty) { try DIDKey(string: "") }
        #expect(throws: IdentifierError.notDIDKey) { try DIDKey(string: "did:web:example.com") }
        #expect(throws: IdentifierError.unsupportedMultibase(prefix: "b")) { try DIDKey(string: "did:key:b6Mk") }
        #expect(throws: IdentifierError.invalidCharacter(position: 3, encoding: "base58btc")) {
            try DIDKey(string: "did:key:z6Mk0Bz1")
        }
        // An X25519 key (multicodec 0xec) is a valid did:key but not a signing key.
        #expect(throws: IdentifierError.unsupportedKeyType(multicodec: 0xec)) {
            try DIDKey(string: "did:key:z6LShs9GGnqk85isEBzzshkuVWrVKsRp24GnDuHk8QWkARMW")
        }
        #expect(throws: IdentifierError.self) { try DIDKey(string: String(valid.dropLast())) }
        let shortKey = "did:key:z" + Base58.encode([0xed, 0x01] + [UInt8](repeating: 5, count: 31))
        #expect(throws: IdentifierError.keyLength(expected: 32, actual: 31)) { try DIDKey(string: shortKey) }
        #expect(throws: IdentifierError.self) { try DIDKey(string: valid + "z") }
        #expect(throws: IdentifierError.tooLong(length: 200, limit: 128)) {
            try DIDKey(string: "did:key:z" + String(repeating: "z", count: 191))
        }
        #expect(throws: IdentifierError.notDIDKey) { try DIDKey(string: "DID:KEY:z6Mk") }
    }

    @Test func everyTruncationOfADIDKeyIsRejected() {
        let valid = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
        for length in 0..<valid.count {
            #expect(throws: IdentifierError.self) { try DIDKey(string: String(valid.prefix(length))) }
        }
        #expect(throws: IdentifierError.self) { try DIDKey(string: valid + "#key-1") }
    }

    @Test func cidsMatchIPFSForTheSameBytes() throws {
        let fixture = try Fixture.json("cid-vectors.json")
        let content = try #require(fixture["content"] as? [[String: Any]])
        for vector in content {
            let bytes = Array(try #require(vector["utf8"] as? String).utf8)
            let codec = try #require(vector["codec"] as? Int)
            let expected = try #require(vector["cid"] as? String)
            let cid = CID(codec: UInt64(codec), digest: Hash256.sha256(bytes))
            #expect(cid.string == expected)
            #expect(try CID(string: expected) == cid)
            #expect(try CID(bytes: cid.bytes) == cid)
            if codec == 0x55 { #expect(CID.raw(of: bytes) == cid) }
        }
    }

    @Test func cidVersion0AndBase58VersionsParse() throws {
        let fixture = try Fixture.json("cid-vectors.json")
        let equivalent = try #require(fixture["equivalent"] as? [[String: Any]])
        let v0 = try CID(string: try #require(equivalent[0]["v0"] as? String))
        #expect(v0.version == 0)
        #expect(v0.codec == CID.codecDagPB)
        #expect(v0.string == equivalent[0]["v0"] as? String)
        #expect(v0.version1.string == equivalent[0]["v1"] as? String)
        let base58 = try CID(string: try #require(equivalent[1]["base58btc"] as? String))
        #expect(base58.version == 1)
        #expect(base58.codec == CID.codecRaw)
        #expect(base58.string.hasPrefix("bafkrei"))
    }

    @Test func malformedCIDsAreRejected() {
        let valid = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
        #expect(throws: IdentifierError.empty) { try CID(string: "") }
        #expect(throws: IdentifierError.unsupportedMultibase(prefix: "f")) { try CID(string: "f0155") }
        #expect(throws: IdentifierError.invalidCharacter(position: 1, encoding: "base32")) {
            try CID(string: "baFkreih")
        }
        #expect(throws: IdentifierError.nonCanonical(encoding: "base32")) { try CID(string: String(valid.dropLast())) }
        #expect(throws: IdentifierError.digestLength(expected: 32, actual: 31)) {
            try CID(string: String(valid.dropLast(2)))
        }
        #expect(throws: IdentifierError.tooLong(length: 300, limit: 256)) {
            try CID(string: "b" + String(repeating: "a", count: 299))
        }
        #expect(throws: IdentifierError.unsupportedCIDVersion(2)) {
            try CID(bytes: [2, 0x55, 0x12, 0x20] + [UInt8](repeating: 0, count: 32))
        }
        #expect(throws: IdentifierError.unsupportedMultihash(code: 0x13)) {
            try CID(bytes: [1, 0x55, 0x13, 0x40] + [UInt8](repeating: 0, count: 64))
        }
        #expect(throws: IdentifierError.trailingBytes(count: 1)) {
            try CID(bytes: [1, 0x55, 0x12, 0x20] + [UInt8](repeating: 0, count: 33))
        }
        #expect(throws: IdentifierError.invalidVarint(field: "codec")) { try CID(bytes: [1, 0xd5, 0x00, 0x12, 0x20]) }
        #expect(throws: IdentifierError.invalidVarint(field: "codec")) { try CID(bytes: [1]) }
        // A bare multihash may not be wrapped in multibase.
        let wrapped = "z" + Base58.encode([0x12, 0x20] + [UInt8](repeating: 1, count: 32))
        #expect(throws: IdentifierError.unsupportedCIDVersion(0)) { try CID(string: wrapped) }
    }

    @Test func everyTruncationOfACIDIsRejected() throws {
        let cid = CID.raw(of: Array("hello".utf8))
        for length in 0..<cid.bytes.count {
            #expect(throws: IdentifierError.self) { try CID(bytes: Array(cid.bytes[..<length])) }
        }
        for length in 0..<cid.string.count {
            #expect(throws: IdentifierError.self) { try CID(string: String(cid.string.prefix(length))) }
        }
    }

    @Test func multibaseCodecsRoundTripRandomBytes() throws {
        var generator = SeededGenerator(seed: 42)
        for length in 0..<80 {
            var bytes = generator.bytes(length)
            if length % 5 == 0 && length > 0 { bytes[0] = 0 }
            #expect(try Base32.decode(Base32.encode(bytes)) == bytes)
            #expect(try Hex.decode(Hex.encode(bytes)) == bytes)
            if length > 0 { #expect(try Base58.decode(Base58.encode(bytes)) == bytes) }
        }
        #expect(Base32.encode(Array("foobar".utf8)) == "mzxw6ytboi")
        #expect(Base58.encode(Array("hello world".utf8)) == "StV1DL6CwTryKyV")
        #expect(Base58.encode([0, 0, 1]) == "112")
    }

    @Test func malformedMultibaseTextIsRejected() {
        #expect(throws: IdentifierError.invalidCharacter(position: 1, encoding: "base58btc")) {
            try Base58.decode("1O")
        }
        #expect(throws: IdentifierError.empty) { try Base58.decode("") }
        #expect(throws: IdentifierError.tooLong(length: 257, limit: 256)) {
            try Base58.decode(String(repeating: "2", count: 257))
        }
        #expect(throws: IdentifierError.nonCanonical(encoding: "base32")) { try Base32.decode("mzxw6ytbop") }
        #expect(throws: IdentifierError.invalidCharacter(position: 2, encoding: "base32")) { try Base32.decode("mz=w") }
        #expect(throws: IdentifierError.nonCanonical(encoding: "hex")) { try Hex.decode("abc") }
        #expect(throws: IdentifierError.invalidCharacter(position: 1, encoding: "hex")) { try Hex.decode("0g") }
    }
}

@Suite struct SigningTests {
    @Test func signaturesVerifyOnlyInTheirOwnDomain() throws {
        let key = try Ed25519.PrivateKey(seed: [UInt8](repeating: 7, count: 32))
        let message = Array("transfer 10".utf8)
        let signature = key.sign(message, domain: .transaction)
        #expect(key.publicKey.isValidSignature(signature, for: message, domain: .transaction))
        for other in [SigningDomain.vote, .proposal, .nodeHandshake, .telemetry, .storage] {
            #expect(!key.publicKey.isValidSignature(signature, for: message, domain: other))
        }
        #expect(!key.publicKey.isValidSignature(signature, for: message + [0], domain: .transaction))
        let stranger = Ed25519.PrivateKey()
        #expect(!stranger.publicKey.isValidSignature(signature, for: message, domain: .transaction))
    }

    @Test func everyBitFlipOfASignatureIsRejected() throws {
        let key = Ed25519.PrivateKey()
        let message = Array("vote".utf8)
        let signature = key.sign(message, domain: .vote)
        for flipped in bitFlips(signature.rawBytes) {
            #expect(
                !key.publicKey.isValidSignature(try Ed25519.Signature(rawBytes: flipped), for: message, domain: .vote))
        }
    }

    @Test func signingIsDeterministicAndSeedsRoundTrip() throws {
        let seed = [UInt8](repeating: 9, count: 32)
        let key = try Ed25519.PrivateKey(seed: seed)
        #expect(key.seed == seed)
        #expect(key.sign([1], domain: .vote) == (try Ed25519.PrivateKey(seed: seed)).sign([1], domain: .vote))
        #expect(throws: IdentifierError.keyLength(expected: 32, actual: 31)) {
            try Ed25519.PrivateKey(seed: Array(seed.dropLast()))
        }
    }

    @Test func signingInputIsLengthPrefixedTag() {
        #expect(SigningDomain.transaction.signingInput([0xaa]) == [14] + Array("meshwork/tx/v1".utf8) + [0xaa])
    }

    @Test func keysAndSignaturesRoundTripCanonically() throws {
        let key = Ed25519.PrivateKey()
        let signature = key.sign([], domain: .vote)
        #expect(try Ed25519.PublicKey(canonicalBytes: key.publicKey.canonicalBytes) == key.publicKey)
        #expect(try Ed25519.Signature(canonicalBytes: signature.canonicalBytes) == signature)
        let cid = CID.raw(of: [1, 2, 3])
        #expect(try CID(canonicalBytes: cid.canonicalBytes) == cid)
        #expect(throws: CanonicalDecodingError.self) { try CID(canonicalBytes: [3, 1, 2, 3]) }
        #expect(throws: CanonicalDecodingError.truncated(offset: 0, needed: 32, available: 31)) {
            try Ed25519.PublicKey(canonicalBytes: [UInt8](repeating: 0, count: 31))
        }
    }
}
