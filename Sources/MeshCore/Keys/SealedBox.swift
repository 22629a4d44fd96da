import Crypto

/// Seals bytes to an Ed25519 key, so that only the holder of the matching private key opens
/// them: the key is mapped to X25519 (RFC 7748's birational map, as libsodium's
/// `crypto_sign_ed25519_pk_to_curve25519`), a fresh ephemeral X25519 key agrees a secret with it,
/// HKDF-SHA256 derives a ChaCha20-Poly1305 key, and the box is
/// `ephemeral public key (32) ‖ nonce (12) ‖ ciphertext ‖ tag (16)`.
public enum SealedBox {
    /// What `seal` adds to the plaintext.
    public static let overheadBytes = 32 + 12 + 16
    /// The largest box `open` reads.
    public static let sealedBytesMax = 64 * 1024

    /// Why a box did not open.
    public enum Failure: Error, Equatable, CustomStringConvertible {
        /// Shorter than the overhead or longer than `sealedBytesMax`.
        case badLength(Int)
        /// Not sealed to this key, or changed.
        case notForThisKey

        /// One sentence.
        public var description: String {
            switch self {
            case .badLength(let count): "a sealed box of \(count) bytes is not 60…\(SealedBox.sealedBytesMax)"
            case .notForThisKey: "the box is not sealed to this key, or was changed"
            }
        }
    }

    /// Seals `plaintext` to `recipient`.
    public static func seal(_ plaintext: [UInt8], to recipient: Ed25519.PublicKey) throws -> [UInt8] {
        precondition(plaintext.count + overheadBytes <= sealedBytesMax, "sealed boxes hold at most 64 KiB")
        let recipientX = try Curve25519.KeyAgreement.PublicKey(rawRepresentation: montgomery(recipient))
        let ephemeral = Curve25519.KeyAgreement.PrivateKey()
        let key = try boxKey(
            ephemeral.sharedSecretFromKeyAgreement(with: recipientX), ephemeral.publicKey, recipientX)
        let box = try ChaChaPoly.seal(plaintext, using: key)
        return Array(ephemeral.publicKey.rawRepresentation) + Array(box.combined)
    }

    /// Opens a box sealed to `key`'s public key.
    public static func open(_ sealed: [UInt8], with key: Ed25519.PrivateKey) throws(Failure) -> [UInt8] {
        guard sealed.count >= overheadBytes, sealed.count <= sealedBytesMax else { throw .badLength(sealed.count) }
        do {
            let ephemeral = try Curve25519.KeyAgreement.PublicKey(rawRepresentation: sealed[0..<32])
            let mine = try agreementKey(key)
            let symmetric = try boxKey(mine.sharedSecretFromKeyAgreement(with: ephemeral), ephemeral, mine.publicKey)
            return Array(try ChaChaPoly.open(ChaChaPoly.SealedBox(combined: sealed[32...]), using: symmetric))
        } catch { throw .notForThisKey }
    }

    /// The X25519 public key of an Ed25519 private key (the key `open` agrees with).
    public static func agreementPublicKey(of key: Ed25519.PrivateKey) throws -> [UInt8] {
        Array(try agreementKey(key).publicKey.rawRepresentation)
    }

    /// The X25519 private key of an Ed25519 key: the clamped first half of SHA-512 of its seed.
    static func agreementKey(_ key: Ed25519.PrivateKey) throws -> Curve25519.KeyAgreement.PrivateKey {
        let digest = Array(SHA512.hash(data: key.seed))
        return try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: Array(digest[0..<32]))
    }

    private static func boxKey(
        _ secret: SharedSecret, _ ephemeral: Curve25519.KeyAgreement.PublicKey,
        _ recipient: Curve25519.KeyAgreement.PublicKey
    ) throws -> SymmetricKey {
        secret.hkdfDerivedSymmetricKey(
            using: SHA256.self, salt: Array(ephemeral.rawRepresentation) + Array(recipient.rawRepresentation),
            sharedInfo: Array("meshwork/seal/v1".utf8), outputByteCount: 32)
    }

    /// The Montgomery u-coordinate of an Ed25519 public key: u = (1 + y) / (1 − y) mod 2^255 − 19.
    public static func montgomery(_ key: Ed25519.PublicKey) -> [UInt8] {
        var bytes = key.rawBytes
        bytes[31] &= 0x7F
        let y = Field(littleEndian: bytes)
        let u = (Field.one + y) * (Field.one - y).inverse
        return u.littleEndianBytes
    }
}

/// Integers modulo p = 2^255 − 19 in four 64-bit limbs (least significant first), always reduced.
private struct Field {
    var limbs: (UInt64, UInt64, UInt64, UInt64)

    static let p: [UInt64] = [0xFFFF_FFFF_FFFF_FFED, .max, .max, 0x7FFF_FFFF_FFFF_FFFF]
    static let one = Field(array: [1, 0, 0, 0])

    init(array: [UInt64]) { limbs = (array[0], array[1], array[2], array[3]) }

    init(littleEndian bytes: [UInt8]) {
        var words = [UInt64](repeating: 0, count: 4)
        for index in 0..<32 { words[index / 8] |= UInt64(bytes[index]) << (8 * UInt64(index % 8)) }
        self.init(array: Field.reduceOnce(words))
    }

    var array: [UInt64] { [limbs.0, limbs.1, limbs.2, limbs.3] }

    var littleEndianBytes: [UInt8] {
        let words = array
        return (0..<32).map { UInt8(truncatingIfNeeded: words[$0 / 8] >> (8 * UInt64($0 % 8))) }
    }

    /// Subtracts p once if the value is at least p.
    static func reduceOnce(_ words: [UInt64]) -> [UInt64] {
        var borrow: UInt64 = 0
        var difference = [UInt64](repeating: 0, count: 4)
        for index in 0..<4 {
            let (step, overflow1) = words[index].subtractingReportingOverflow(p[index])
            let (result, overflow2) = step.subtractingReportingOverflow(borrow)
            difference[index] = result
            borrow = (overflow1 || overflow2) ? 1 : 0
        }
        return borrow == 0 ? difference : words
    }

    static func + (lhs: Field, rhs: Field) -> Field {
        var sum = [UInt64](repeating: 0, count: 4)
        var carry: UInt64 = 0
        let (a, b) = (lhs.array, rhs.array)
        for index in 0..<4 {
            let (step, overflow1) = a[index].addingReportingOverflow(b[index])
            let (result, overflow2) = step.addingReportingOverflow(carry)
            sum[index] = result
            carry = (overflow1 || overflow2) ? 1 : 0
        }
        // Both inputs are below p < 2^255, so the sum is below 2^256: no carry out.
        return Field(array: reduceOnce(sum))
    }

    static func - (lhs: Field, rhs: Field) -> Field {
        let negated = Field(array: reduceOnce(subtract(p, rhs.array)))
        return lhs + negated
    }

    private static func subtract(_ a: [UInt64], _ b: [UInt64]) -> [UInt64] {
        var borrow: UInt64 = 0
        var result = [UInt64](repeating: 0, count: 4)
        for index in 0..<4 {
            let (step, overflow1) = a[index].subtractingReportingOverflow(b[index])
            let (value, overflow2) = step.subtractingReportingOverflow(borrow)
            result[index] = value
            borrow = (overflow1 || overflow2) ? 1 : 0
        }
        return result
    }

    static func * (lhs: Field, rhs: Field) -> Field {
        let (a, b) = (lhs.array, rhs.array)
        var wide = [UInt64](repeating: 0, count: 8)
        for i in 0..<4 {
            var carry: UInt64 = 0
            for j in 0..<4 {
                let product = a[i].multipliedFullWidth(by: b[j])
                let (low1, overflow1) = product.low.addingReportingOverflow(wide[i + j])
                let (low2, overflow2) = low1.addingReportingOverflow(carry)
                wide[i + j] = low2
                carry = product.high &+ (overflow1 ? 1 : 0) &+ (overflow2 ? 1 : 0)
            }
            wide[i + 4] = carry
        }
        // 2^256 ≡ 38 (mod p): fold the high half down twice.
        var folded = [UInt64](repeating: 0, count: 5)
        var carry: UInt64 = 0
        for index in 0..<4 {
            let product = wide[index + 4].multipliedFullWidth(by: 38)
            let (sum1, overflow1) = wide[index].addingReportingOverflow(product.low)
            let (sum2, overflow2) = sum1.addingReportingOverflow(carry)
            folded[index] = sum2
            carry = product.high &+ (overflow1 ? 1 : 0) &+ (overflow2 ? 1 : 0)
        }
        folded[4] = carry
        var result = Array(folded[0..<4])
        var extra = folded[4] &* 38
        for index in 0..<4 {
            let (sum, overflow) = result[index].addingReportingOverflow(extra)
            result[index] = sum
            extra = overflow ? 1 : 0
        }
        if extra > 0 {
            // One more wrap past 2^256 (rare): add 38 again.
            var add: UInt64 = 38
            for index in 0..<4 {
                let (sum, overflow) = result[index].addingReportingOverflow(add)
                result[index] = sum
                add = overflow ? 1 : 0
            }
        }
        return Field(array: reduceOnce(reduceOnce(reduceTop(result))))
    }

    /// Folds bit 255 down (2^255 ≡ 19).
    private static func reduceTop(_ words: [UInt64]) -> [UInt64] {
        var result = words
        let top = result[3] >> 63
        result[3] &= 0x7FFF_FFFF_FFFF_FFFF
        var add = top * 19
        for index in 0..<4 {
            let (sum, overflow) = result[index].addingReportingOverflow(add)
            result[index] = sum
            add = overflow ? 1 : 0
        }
        return result
    }

    /// x^(p−2), by square-and-multiply over the bits of p − 2.
    var inverse: Field {
        var exponent = Field.p
        exponent[0] -= 2
        var result = Field.one
        for word in exponent.reversed() {
            for bit in (0..<64).reversed() {
                result = result * result
                if (word >> UInt64(bit)) & 1 == 1 { result = result * self }
            }
        }
        return result
    }
}
