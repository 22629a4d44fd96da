/// Writes canonical bytes: minimal varints, big-endian fixed-width integers, length-prefixed
/// byte strings, and maps sorted by the bytes of their keys.
public struct CanonicalEncoder: Sendable {
    /// What has been written so far.
    public private(set) var bytes: [UInt8]

    /// An empty encoder with room for `capacity` bytes.
    public init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// One raw byte.
    public mutating func writeUInt8(_ value: UInt8) { bytes.append(value) }

    /// A minimal unsigned varint.
    public mutating func writeVarint(_ value: UInt64) { Varint.encode(value, into: &bytes) }

    /// A signed integer as a zigzag varint (0, -1, 1, -2, … map to 0, 1, 2, 3, …).
    public mutating func writeZigZag(_ value: Int64) {
        writeVarint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    /// Eight bytes, big-endian.
    public mutating func writeFixedUInt64(_ value: UInt64) { appendBigEndian(value) }

    /// Four bytes, big-endian.
    public mutating func writeFixedUInt32(_ value: UInt32) { appendBigEndian(value) }

    /// Two bytes, big-endian.
    public mutating func writeFixedUInt16(_ value: UInt16) { appendBigEndian(value) }

    /// `0x01` for true, `0x00` for false.
    public mutating func writeBool(_ value: Bool) { bytes.append(value ? 1 : 0) }

    /// A varint length, then the bytes.
    public mutating func writeBytes(_ value: some Collection<UInt8>) {
        writeVarint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    /// Bytes of a length both sides know (hashes, keys, signatures): no prefix.
    public mutating func writeRawBytes(_ value: some Collection<UInt8>) {
        bytes.append(contentsOf: value)
    }

    /// A varint length, then the UTF-8 bytes.
    public mutating func writeString(_ value: String) { writeBytes(value.utf8) }

    /// Any encodable value.
    public mutating func write(_ value: some CanonicalEncodable) { value.encode(to: &self) }

    /// `0x00` for nil, else `0x01` and the value.
    public mutating func writeOptional<Value: CanonicalEncodable>(_ value: Value?) {
        if let value {
            bytes.append(1)
            value.encode(to: &self)
        } else {
            bytes.append(0)
        }
    }

    /// A varint count, then each element in order.
    public mutating func writeArray<Element: CanonicalEncodable>(_ elements: [Element]) {
        writeVarint(UInt64(elements.count))
        for element in elements { element.encode(to: &self) }
    }

    /// A varint count, then key/value pairs in increasing order of the keys' encoded bytes.
    public mutating func writeMap<Key: CanonicalEncodable, Value: CanonicalEncodable>(
        _ map: [Key: Value]
    ) {
        let entries = map.map { (key: $0.key.canonicalBytes, value: $0.value) }
            .sorted { $0.key.lexicographicallyPrecedes($1.key) }
        writeVarint(UInt64(entries.count))
        for entry in entries {
            bytes.append(contentsOf: entry.key)
            entry.value.encode(to: &self)
        }
    }

    private mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        var big = value.bigEndian
        withUnsafeBytes(of: &big) { bytes.append(contentsOf: $0) }
    }
}
