public import MeshCore

/// `vc.revoke` (74): the signer, an issuer of verifiable credentials, sets bit `index` of its
/// revocation list (`BitstringStatusList`, 131,072 entries). Revocation is permanent; setting a
/// set bit again changes nothing. Bytes: `varint index`.
public struct RevokeCredential: Sendable, Hashable, CanonicalCodable {
    /// The credential's `statusListIndex`.
    public var index: UInt64

    /// All fields.
    public init(index: UInt64) { self.index = index }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) { encoder.writeVarint(index) }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        index = try decoder.readVarint()
    }
}

/// Issuers' revocation lists: each issuer's 16,384-byte bitstring is kept in 16 chunks of 1,024
/// bytes (`0x0C 0x01 ‖ DID(issuer) ‖ u8(chunk)`), written only when a bit in it is set, so a
/// revocation writes 1 KiB, and a verifier's proof covers the chunks it reads.
public enum CredentialStatusRules {
    /// Bytes per stored chunk.
    public static let chunkBytes = 1_024
    /// Chunks of one list.
    public static let chunks = BitstringStatusList.entries / 8 / chunkBytes
}

extension StateKeys {
    static func statusChunk(_ issuer: DID, _ chunk: Int) -> [UInt8] {
        [0x0C, 0x01] + issuer.canonicalBytes + [UInt8(chunk)]
    }
}

extension StateReader {
    /// The whole list of `issuer` (zero bits where nothing was ever revoked).
    func statusListBits(_ issuer: DID) throws(StateError) -> [UInt8] {
        var bits: [UInt8] = []
        bits.reserveCapacity(BitstringStatusList.entries / 8)
        for chunk in 0..<CredentialStatusRules.chunks {
            bits +=
                try get(StateKeys.statusChunk(issuer, chunk))
                ?? [UInt8](repeating: 0, count: CredentialStatusRules.chunkBytes)
        }
        return bits
    }
}

enum CredentialHandler {
    static func revoke(_ message: RevokeCredential, _ context: MessageContext) throws {
        guard message.index < UInt64(BitstringStatusList.entries) else {
            throw VCError.statusIndexOutOfRange(index: Int(clamping: message.index), count: BitstringStatusList.entries)
        }
        let index = Int(message.index)
        let chunk = index / 8 / CredentialStatusRules.chunkBytes
        let key = StateKeys.statusChunk(context.signer, chunk)
        var bytes = try context.state.get(key) ?? [UInt8](repeating: 0, count: CredentialStatusRules.chunkBytes)
        guard bytes.count == CredentialStatusRules.chunkBytes else {
            throw StateError.corrupt("status chunk at \(Hex.encode(key)) is \(bytes.count) bytes")
        }
        let offset = index - chunk * CredentialStatusRules.chunkBytes * 8
        bytes[offset / 8] |= 0x80 >> UInt8(offset % 8)
        context.state.set(key, bytes)
        context.block.emit("vc.revoke", [("issuer", context.signer.description), ("index", String(index))])
    }
}

extension StateView {
    /// `issuer`'s revocation list as a bitstring (bit 0 = the most significant bit of byte 0).
    public func revocationList(of issuer: DID) throws(StateError) -> [UInt8] { try statusListBits(issuer) }
}
