/// GZIP (RFC 1952) whose DEFLATE stream (RFC 1951) holds only stored blocks: the bytes as they are,
/// framed and checksummed, readable by any gzip reader (Python's `gzip.decompress`, `gzip -d`,
/// zlib's `inflate`) with no compressor here.
///
/// Written: the header `1f 8b 08 00 00000000 00 ff` (deflate, no flags, no time, no extra flags, OS
/// unknown); blocks of at most 65,535 bytes, each `BFINAL|BTYPE=00` in one byte, `LEN` and `NLEN`
/// (little-endian, `NLEN = ~LEN`), the bytes (§3.2.4); then CRC-32 and ISIZE, little-endian.
///
/// Read: the same, from any writer: any number of stored blocks, any MTIME, XFL and OS. Refused:
/// header flags other than 0 (a file name, comment, extra field or header CRC), compressed blocks
/// (types 1 and 2), padding bits after a block's BFINAL and BTYPE that are not zero (zlib writes
/// zeros), several members, anything after the trailer.
public enum StoredGzip {
    /// Most bytes one stored block holds (`LEN` is 16 bits).
    public static let blockBytesMax = 65_535
    /// The header written.
    static let header: [UInt8] = [0x1F, 0x8B, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF]
    private static let trailerByteCount = 8
    private static let blockHeaderByteCount = 5

    /// `bytes` in stored blocks.
    public static func encode(_ bytes: [UInt8]) -> [UInt8] {
        let blockCount = max(1, (bytes.count + blockBytesMax - 1) / blockBytesMax)
        var output = header
        output.reserveCapacity(header.count + bytes.count + blockCount * blockHeaderByteCount + trailerByteCount)
        var start = 0
        repeat {
            let end = min(start + blockBytesMax, bytes.count)
            let length = UInt16(end - start)
            output.append(end == bytes.count ? 0x01 : 0x00)
            appendLittleEndian(UInt32(length), byteCount: 2, to: &output)
            appendLittleEndian(UInt32(~length), byteCount: 2, to: &output)
            output.append(contentsOf: bytes[start..<end])
            start = end
        } while start < bytes.count
        appendLittleEndian(CRC32.checksum(bytes), byteCount: 4, to: &output)
        appendLittleEndian(UInt32(truncatingIfNeeded: bytes.count), byteCount: 4, to: &output)
        precondition(output.count == header.count + bytes.count + blockCount * blockHeaderByteCount + trailerByteCount)
        return output
    }

    /// The bytes of a stored-block GZIP member, at most `bytesMax` of them (checked before copying).
    public static func decode(_ gzip: [UInt8], bytesMax: Int) throws(StoredGzipError) -> [UInt8] {
        precondition(bytesMax >= 0, "a limit is not negative")
        guard gzip.count >= header.count else { throw .truncated }
        guard gzip[0] == 0x1F, gzip[1] == 0x8B else { throw .notGzip }
        guard gzip[2] == 0x08 else { throw .unsupportedHeader("compression method \(gzip[2]) is not deflate (8)") }
        guard gzip[3] == 0 else {
            throw .unsupportedHeader("flags \(gzip[3]): names, comments, extra fields and header CRCs are not read")
        }
        var offset = header.count
        var output: [UInt8] = []
        var isFinal = false
        while !isFinal {
            guard gzip.count - offset >= blockHeaderByteCount else { throw .truncated }
            // A stored block starts on a byte boundary; the five bits after BFINAL and BTYPE are padding.
            isFinal = gzip[offset] & 1 == 1
            let type = (gzip[offset] >> 1) & 3
            guard type != 3 else { throw .reservedBlockType }
            guard type == 0 else { throw .compressedBlock(type: type) }
            guard gzip[offset] >> 3 == 0 else { throw .nonZeroPadding }
            let length = readLittleEndian(gzip, at: offset + 1, byteCount: 2)
            let complement = readLittleEndian(gzip, at: offset + 3, byteCount: 2)
            guard length == ~complement & 0xFFFF else { throw .lengthCheckFailed }
            offset += blockHeaderByteCount
            guard gzip.count - offset >= Int(length) else { throw .truncated }
            guard Int(length) <= bytesMax - output.count else { throw .tooLarge(limit: bytesMax) }
            output.append(contentsOf: gzip[offset..<offset + Int(length)])
            offset += Int(length)
        }
        let remaining = gzip.count - offset
        guard remaining >= trailerByteCount else { throw .truncated }
        guard remaining == trailerByteCount else { throw .trailingBytes(count: remaining - trailerByteCount) }
        let checksum = readLittleEndian(gzip, at: offset, byteCount: 4)
        let size = readLittleEndian(gzip, at: offset + 4, byteCount: 4)
        let actualChecksum = CRC32.checksum(output)
        guard checksum == actualChecksum else { throw .checksumMismatch(stored: checksum, actual: actualChecksum) }
        guard size == UInt32(truncatingIfNeeded: output.count) else {
            throw .sizeMismatch(stored: size, actual: UInt32(truncatingIfNeeded: output.count))
        }
        return output
    }

    private static func appendLittleEndian(_ value: UInt32, byteCount: Int, to output: inout [UInt8]) {
        for index in 0..<byteCount { output.append(UInt8(truncatingIfNeeded: value >> (8 * index))) }
    }

    private static func readLittleEndian(_ bytes: [UInt8], at offset: Int, byteCount: Int) -> UInt32 {
        var value: UInt32 = 0
        for index in 0..<byteCount { value |= UInt32(bytes[offset + index]) << (8 * index) }
        return value
    }
}

/// Why bytes are not a stored-block GZIP member as `StoredGzip.decode` reads one.
public enum StoredGzipError: Error, Sendable, Equatable {
    /// The input ends before the member does.
    case truncated
    /// The input does not start with the GZIP magic `1f 8b`.
    case notGzip
    /// The header asks for something this reader does not do.
    case unsupportedHeader(String)
    /// A DEFLATE block is compressed (1: fixed Huffman, 2: dynamic Huffman).
    case compressedBlock(type: UInt8)
    /// A DEFLATE block has the reserved type 3, which is an error in any reader.
    case reservedBlockType
    /// A stored block's header byte has padding bits set.
    case nonZeroPadding
    /// A stored block's `NLEN` is not the complement of its `LEN`.
    case lengthCheckFailed
    /// The content is longer than the caller's limit.
    case tooLarge(limit: Int)
    /// Bytes follow the trailer (another member, or garbage).
    case trailingBytes(count: Int)
    /// The trailer's CRC-32 is not that of the content.
    case checksumMismatch(stored: UInt32, actual: UInt32)
    /// The trailer's ISIZE is not the content's length.
    case sizeMismatch(stored: UInt32, actual: UInt32)

    /// One phrase.
    public var reason: String {
        switch self {
        case .truncated: "the GZIP data ends early"
        case .notGzip: "the data is not GZIP (no 1f 8b magic)"
        case .unsupportedHeader(let why): "unsupported GZIP header: \(why)"
        case .compressedBlock(let type):
            "DEFLATE block type \(type) is compressed; only stored blocks (type 0) are read"
        case .reservedBlockType: "DEFLATE block type 3 is reserved"
        case .nonZeroPadding: "a stored block's header byte has padding bits set"
        case .lengthCheckFailed: "a stored block's NLEN is not the complement of its LEN"
        case .tooLarge(let limit): "the content is over \(limit) bytes"
        case .trailingBytes(let count): "\(count) byte(s) follow the GZIP trailer"
        case .checksumMismatch(let stored, let actual):
            "CRC-32 is \(String(actual, radix: 16)), the trailer says \(String(stored, radix: 16))"
        case .sizeMismatch(let stored, let actual): "the content is \(actual) bytes, the trailer says \(stored)"
        }
    }
}

/// CRC-32 as GZIP (RFC 1952 §8) and zlib compute it: reflected polynomial 0xEDB88320, initial value
/// and final XOR 0xFFFFFFFF. The check value of `"123456789"` is 0xCBF43926.
public enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { index in
        var crc = UInt32(index)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        return crc
    }

    /// The checksum of `bytes`.
    public static func checksum(_ bytes: some Collection<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}
