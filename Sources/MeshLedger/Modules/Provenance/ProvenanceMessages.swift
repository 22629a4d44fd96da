public import MeshCore

/// `provenance.anchor` (40): the signer (a node) anchors the Merkle root of the telemetry records
/// its gateway accepted while `batchHeight` was the latest committed height. Bytes:
/// `varint batchHeight ‖ root(32) ‖ varint count`.
public struct AnchorBatch: Sendable, Hashable, CanonicalCodable {
    /// The batch: the latest committed height while its records were received.
    public var batchHeight: UInt64
    /// RFC 9162 root of the batch's records, in the order they were received.
    public var root: Hash256
    /// Number of records (the tree's size).
    public var count: UInt64

    /// All fields.
    public init(batchHeight: UInt64, root: Hash256, count: UInt64) {
        self.batchHeight = batchHeight
        self.root = root
        self.count = count
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeVarint(batchHeight)
        encoder.write(root)
        encoder.writeVarint(count)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        batchHeight = try decoder.readVarint()
        root = try decoder.read(Hash256.self)
        count = try decoder.readVarint()
    }
}
