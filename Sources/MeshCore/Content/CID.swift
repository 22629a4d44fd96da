/// A content identifier (multiformats CID) whose multihash is sha2-256.
///
/// Meshwork writes CIDv1 with the raw codec (0x55) in base32-lower, byte-identical to what
/// IPFS writes for the same bytes with raw leaves. Parsing also accepts base58btc CIDv1 and
/// CIDv0 (`Qm…`, implicitly dag-pb) so identifiers from other tools can be read.
public struct CID: Hashable, Sendable, CustomStringConvertible {
    /// Multicodec of opaque bytes.
    public static let codecRaw: UInt64 = 0x55
    /// Multicodec of dag-pb, the implied codec of CIDv0.
    public static let codecDagPB: UInt64 = 0x70
    /// Multihash code of sha2-256.
    public static let multihashSHA256: UInt64 = 0x12
    /// Longest CID text accepted by `init(string:)`.
    public static let charactersMax = 256

    /// 0 or 1.
    public let version: UInt8
    /// The multicodec of the content; always dag-pb for version 0.
    public let codec: UInt64
    /// The sha2-256 digest of the content.
    public let digest: Hash256

    /// A CIDv1 of `codec` content with this digest.
    public init(codec: UInt64 = CID.codecRaw, digest: Hash256) {
        self.version = 1
        self.codec = codec
        self.digest = digest
    }

    /// A CIDv0 (dag-pb, base58btc) with this digest.
    public static func version0(digest: Hash256) -> CID { CID(version: 0, codec: codecDagPB, digest: digest) }

    private init(version: UInt8, codec: UInt64, digest: Hash256) {
        precondition(version <= 1)
        precondition(version == 1 || codec == CID.codecDagPB)
        self.version = version
        self.codec = codec
        self.digest = digest
    }

    /// The multihash: `0x12 0x20` then the digest.
    public var multihash: [UInt8] { [UInt8(CID.multihashSHA256), UInt8(Hash256.byteCount)] + digest.bytes }

    /// The binary CID: the bare multihash for v0; `varint(1) varint(codec) multihash` for v1.
    public var bytes: [UInt8] {
        guard version == 1 else { return multihash }
        var bytes: [UInt8] = []
        Varint.encode(1, into: &bytes)
        Varint.encode(codec, into: &bytes)
        return bytes + multihash
    }

    /// `b` + base32-lower for v1; bare base58btc for v0.
    public var string: String { version == 1 ? "b" + Base32.encode(bytes) : Base58.encode(bytes) }

    /// The canonical text form.
    public var description: String { string }

    /// The same content as CIDv1 with the same codec.
    public var version1: CID { CID(codec: codec, digest: digest) }

    /// Parses CID text: `Qm…` (v0), `b…` (base32-lower v1) or `z…` (base58btc v1).
    public init(string text: String) throws(IdentifierError) {
        let characters = text.utf8.count
        guard characters > 0 else { throw .empty }
        guard characters <= CID.charactersMax else { throw .tooLong(length: characters, limit: CID.charactersMax) }
        if characters == 46 && text.hasPrefix("Qm") {
            try self.init(bytes: Base58.decode(text))
            return
        }
        let payload = text.dropFirst()
        let decoded: [UInt8]
        switch text.first {
        case "b": decoded = try Base32.decode(payload)
        case "z": decoded = try Base58.decode(payload)
        case let prefix?: throw .unsupportedMultibase(prefix: prefix)
        case nil: throw .empty
        }
        // A multibase-wrapped CID is always v1; the CID spec forbids wrapping a bare multihash.
        guard decoded.first != UInt8(CID.multihashSHA256) else { throw .unsupportedCIDVersion(0) }
        try self.init(bytes: decoded)
    }

    /// Parses a binary CID (v0 bare multihash, or v1).
    public init(bytes: [UInt8]) throws(IdentifierError) {
        guard !bytes.isEmpty else { throw .empty }
        if bytes.count == 34 && bytes[0] == UInt8(CID.multihashSHA256) && bytes[1] == UInt8(Hash256.byteCount) {
            self = .version0(digest: try CID.parseMultihash(bytes, from: 0))
            return
        }
        var offset = 0
        let version = try CID.readVarint(bytes, &offset, field: "version")
        guard version == 1 else { throw .unsupportedCIDVersion(version) }
        let codec = try CID.readVarint(bytes, &offset, field: "codec")
        self.init(codec: codec, digest: try CID.parseMultihash(bytes, from: offset))
    }

    private static func parseMultihash(_ bytes: [UInt8], from start: Int) throws(IdentifierError) -> Hash256 {
        var offset = start
        let function = try readVarint(bytes, &offset, field: "multihash code")
        guard function == multihashSHA256 else { throw .unsupportedMultihash(code: function) }
        let length = try readVarint(bytes, &offset, field: "multihash length")
        guard length == UInt64(Hash256.byteCount) else {
            throw .digestLength(expected: Hash256.byteCount, actual: Int(clamping: length))
        }
        let available = bytes.count - offset
        guard available >= Hash256.byteCount else {
            throw .digestLength(expected: Hash256.byteCount, actual: available)
        }
        guard available == Hash256.byteCount else { throw .trailingBytes(count: available - Hash256.byteCount) }
        guard let digest = Hash256(bytes: bytes[offset...]) else {
            throw .digestLength(expected: 32, actual: available)
        }
        return digest
    }

    private static func readVarint(
        _ bytes: [UInt8], _ offset: inout Int, field: String
    ) throws(IdentifierError) -> UInt64 {
        switch Varint.decode(bytes, at: offset, bytesMax: Varint.multiformatsBytesMax) {
        case .success(let decoded):
            offset += decoded.length
            return decoded.value
        case .failure:
            throw .invalidVarint(field: field)
        }
    }
}

extension CID: CanonicalCodable {
    /// The binary CID, length-prefixed.
    public func encode(to encoder: inout CanonicalEncoder) { encoder.writeBytes(bytes) }

    /// A length-prefixed binary CID.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        let start = decoder.offset
        let raw = try decoder.readBytes()
        do {
            self = try CID(bytes: raw)
        } catch {
            throw decoder.invalid(error.message, at: start)
        }
    }
}

extension CID: Codable {
    /// The CID string.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(string)
    }

    /// Parses the CID string.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do { self = try CID(string: text) } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }
}
