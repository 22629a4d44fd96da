public import Foundation

/// A revocation list as VC Bitstring Status List v1.0 defines it: 131,072 bits (16 KiB, the spec's
/// minimum, which keeps any one credential's check from revealing which credential it is), bit `i`
/// set when the credential with `statusListIndex` `i` is revoked. Bit 0 is the most significant bit of
/// byte 0 (§3.1). The list's bits live on the ledger; this type only encodes, decodes and checks.
///
/// `encodedList` is multibase base64url (`u`, no padding) of a GZIP of the bitstring. This node writes
/// that GZIP with stored DEFLATE blocks (`StoredGzip`: 16,407 bytes, 21,877 characters), which any
/// reader inflates, and reads only stored-block GZIP back: a list compressed by another issuer's zlib
/// is refused with `vc/13`, not inflated. Every list read must be exactly 131,072 bits.
public enum BitstringStatusList {
    /// Entries in every list written and read.
    public static let entries = 131_072
    /// Bytes of the bitstring.
    public static let byteCount = entries / 8
    /// Longest `encodedList` read: ours is 21,877 characters.
    public static let encodedCharactersMax = 32 * 1024
    /// The multibase prefix of base64url without padding.
    public static let multibasePrefix = "u"
    /// The `type` of a status list credential, after `VerifiableCredential`.
    public static let credentialType = "BitstringStatusListCredential"
    /// The `type` of a status list credential's subject.
    public static let subjectType = "BitstringStatusList"

    /// A list with no bit set.
    public static var empty: [UInt8] { [UInt8](repeating: 0, count: byteCount) }

    /// Whether bit `index` is set; `index` must be inside `bits`.
    public static func isSet(_ bits: [UInt8], _ index: Int) -> Bool {
        precondition(index >= 0 && index < bits.count * 8, "a status index is inside the list")
        return bits[index >> 3] & (0x80 >> UInt8(index & 7)) != 0
    }

    /// Sets bit `index` to `value`; `index` must be inside `bits`.
    public static func set(_ bits: inout [UInt8], _ index: Int, to value: Bool = true) {
        precondition(index >= 0 && index < bits.count * 8, "a status index is inside the list")
        let mask: UInt8 = 0x80 >> UInt8(index & 7)
        if value { bits[index >> 3] |= mask } else { bits[index >> 3] &= ~mask }
    }

    /// `u` + base64url(stored-block GZIP of `bits`); `bits` is exactly `byteCount` bytes.
    public static func encode(bits: [UInt8]) -> String {
        precondition(bits.count == byteCount, "a status list is 16,384 bytes")
        return multibasePrefix + Base64URL.encode(StoredGzip.encode(bits))
    }

    /// The bitstring of an `encodedList`: at most `encodedCharactersMax` characters, the `u` prefix,
    /// base64url, a stored-block GZIP (`StoredGzip`, CRC-32 and length checked) of exactly `byteCount`
    /// bytes. Compressed GZIP is `unsupportedCompression`; anything else wrong is `malformedStatusList`.
    public static func decode(_ text: String) throws(VCError) -> [UInt8] {
        guard text.utf8.count <= encodedCharactersMax else {
            throw .malformedStatusList("encodedList is over \(encodedCharactersMax) characters")
        }
        guard text.hasPrefix(multibasePrefix), let gzip = Base64URL.decode(String(text.dropFirst())) else {
            throw .malformedStatusList("encodedList is not 'u' followed by base64url")
        }
        let bits: [UInt8]
        do throws(StoredGzipError) {
            bits = try StoredGzip.decode(gzip, bytesMax: byteCount)
        } catch {
            if case .compressedBlock = error { throw VCError.unsupportedCompression(error.reason) }
            throw VCError.malformedStatusList(error.reason)
        }
        guard bits.count == byteCount else {
            throw .malformedStatusList("the list is \(bits.count * 8) bits, not \(entries)")
        }
        return bits
    }

    /// The status list credential for the list at `listURL`, to sign with `VCJWT.sign`: `id` the
    /// URL, types `VerifiableCredential` and `BitstringStatusListCredential`, subject `<listURL>#list`
    /// of type `BitstringStatusList` with purpose `revocation` and `encodedList`.
    public static func credential(listURL: String, issuer: String, encodedList: String, validFrom: Date) -> Credential {
        Credential(
            id: listURL, types: [credentialType], issuer: issuer, validFrom: validFrom, subjectID: listURL + "#list",
            claims: [
                "type": .string(subjectType), "statusPurpose": .string(StatusEntry.revocation),
                "encodedList": .string(encodedList),
            ])
    }

    /// `credential(listURL:issuer:encodedList:validFrom:)` as its JSON object.
    public static func credentialJSON(
        listURL: String, issuer: String, encodedList: String, validFrom: Date
    ) -> [String: JSONValue] {
        credential(listURL: listURL, issuer: issuer, encodedList: encodedList, validFrom: validFrom).jsonObject
    }

    /// The bits of a verified status list credential, for `entry`: the credential must be a
    /// `BitstringStatusListCredential` with the entry's URL as its `id` (if it has one) and the entry's
    /// purpose, and a subject of type `BitstringStatusList` whose `encodedList` `decode` reads. The
    /// caller has verified the credential (and that its issuer is the one it trusts for the list).
    public static func bits(of listCredential: Credential, for entry: StatusEntry) throws(VCError) -> [UInt8] {
        guard listCredential.types.contains(credentialType), listCredential.claims["type"] == .string(subjectType)
        else { throw .malformedStatusList("the credential is not a \(credentialType)") }
        guard listCredential.id == nil || listCredential.id == entry.listURL else {
            throw .unknownStatusList(String(entry.listURL.prefix(256)))
        }
        let purposes: [JSONValue]
        switch listCredential.claims["statusPurpose"] {
        case .string(let purpose)?: purposes = [.string(purpose)]
        case .array(let values)?: purposes = values
        default: throw .malformedStatusList("the list has no statusPurpose")
        }
        guard purposes.contains(.string(entry.purpose)) else {
            throw .unsupportedStatus("the list is not for the purpose '\(entry.purpose.prefix(64))'")
        }
        guard case .string(let encodedList)? = listCredential.claims["encodedList"] else {
            throw .malformedStatusList("the list has no encodedList")
        }
        return try decode(encodedList)
    }

    /// Refuses a revoked credential: with a status entry (none: nothing to check), its purpose must
    /// be `revocation`, `listBits` must know its list (by `statusListCredential` URL, as read from the
    /// ledger or from `bits(of:for:)`), the index must be inside it, and its bit must be clear.
    public static func checkRevocation(of credential: Credential, listBits: (String) -> [UInt8]?) throws(VCError) {
        guard let status = credential.status else { return }
        guard status.purpose == StatusEntry.revocation else {
            throw .unsupportedStatus("status purpose '\(status.purpose.prefix(64))'")
        }
        guard let bits = listBits(status.listURL) else { throw .unknownStatusList(String(status.listURL.prefix(256))) }
        guard bits.count == byteCount else {
            throw .malformedStatusList("the list is \(bits.count * 8) bits, not \(entries)")
        }
        guard status.index < entries else { throw .statusIndexOutOfRange(index: status.index, count: entries) }
        if isSet(bits, status.index) {
            throw .revoked(listURL: String(status.listURL.prefix(256)), index: status.index)
        }
    }
}
