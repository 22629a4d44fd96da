import MeshCore

/// CRC-32C (Castagnoli), the checksum of WAL records.
public enum CRC32C {
    private static let table: [UInt32] = (0..<256).map { index in
        var crc = UInt32(index)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        return crc
    }

    /// The checksum of `bytes`.
    public static func checksum(_ bytes: some Collection<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}

/// How WAL records sit on disk: `length (u32 BE) ‖ crc32c(payload) (u32 BE) ‖ payload`.
/// Reading stops at the first record that is short, oversize, fails its checksum or does not
/// decode: everything from there on is a torn or corrupt tail and is never trusted.
public enum WALFraming {
    /// Payload bytes of one record at most.
    public static let recordBytesMax = ConsensusMessage.bytesMax + 64
    /// Bytes before each payload.
    public static let headerBytes = 8

    /// One framed record.
    public static func frame(_ record: WALRecord) -> [UInt8] {
        let payload = record.canonicalBytes
        precondition(payload.count <= recordBytesMax, "records fit the frame limit")
        var bytes: [UInt8] = []
        bytes.reserveCapacity(payload.count + headerBytes)
        appendBigEndian(UInt32(payload.count), to: &bytes)
        appendBigEndian(CRC32C.checksum(payload), to: &bytes)
        bytes += payload
        return bytes
    }

    /// The intact records at the start of `bytes` and how many bytes they span.
    public static func parse(_ bytes: [UInt8]) -> (records: [WALRecord], validBytes: Int) {
        var records: [WALRecord] = []
        var offset = 0
        let limits = CanonicalLimits.consensus(inputBytesMax: recordBytesMax)
        while bytes.count - offset >= headerBytes {
            let length = Int(readBigEndian(bytes, at: offset))
            let checksum = readBigEndian(bytes, at: offset + 4)
            guard length <= recordBytesMax, bytes.count - offset - headerBytes >= length else { break }
            let payload = Array(bytes[(offset + headerBytes)..<(offset + headerBytes + length)])
            guard CRC32C.checksum(payload) == checksum,
                let record = try? WALRecord(canonicalBytes: payload, limits: limits)
            else { break }
            records.append(record)
            offset += headerBytes + length
        }
        return (records, offset)
    }

    private static func appendBigEndian(_ value: UInt32, to bytes: inout [UInt8]) {
        bytes += [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }

    private static func readBigEndian(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8
            | UInt32(bytes[offset + 3])
    }
}
