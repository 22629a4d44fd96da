import MeshCore
import Testing

@Suite struct SealedBoxTests {
    /// The map of the public key agrees with the map of the private key, for many keys: the
    /// X25519 public key of the converted private key is the converted Ed25519 public key.
    @Test func theMontgomeryMapAgreesWithThePrivateKeyConversion() throws {
        for index in 0..<64 {
            let key = try Ed25519.PrivateKey(seed: Hash256.sha256(Array("seal-\(index)".utf8)).bytes)
            #expect(try SealedBox.agreementPublicKey(of: key) == SealedBox.montgomery(key.publicKey), "key \(index)")
        }
    }

    /// libsodium's `crypto_sign_ed25519_pk_to_curve25519` on RFC 8032's first test key.
    @Test func theRFC8032KeyMapsAsLibsodiumMapsIt() throws {
        let key = try Ed25519.PublicKey(
            rawBytes: Hex.decode("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"))
        let expected = try Ed25519.PrivateKey(
            seed: Hex.decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"))
        #expect(SealedBox.montgomery(key) == (try SealedBox.agreementPublicKey(of: expected)))
    }

    @Test func onlyTheRecipientOpensAndAChangedBoxDoesNotOpen() throws {
        let alice = Ed25519.PrivateKey()
        let bob = Ed25519.PrivateKey()
        let box = try SealedBox.seal(Array("capability".utf8), to: alice.publicKey)
        #expect(try SealedBox.open(box, with: alice) == Array("capability".utf8))
        #expect(throws: SealedBox.Failure.notForThisKey) { try SealedBox.open(box, with: bob) }
        for index in [0, 40, box.count - 1] {
            var changed = box
            changed[index] ^= 1
            #expect(throws: SealedBox.Failure.notForThisKey) { try SealedBox.open(changed, with: alice) }
        }
        #expect(throws: SealedBox.Failure.badLength(10)) { try SealedBox.open(Array(box[0..<10]), with: alice) }
        for length in 0..<box.count {
            #expect(throws: (any Error).self) { try SealedBox.open(Array(box[0..<length]), with: alice) }
        }
    }
}
