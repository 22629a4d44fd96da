public import MeshCore

/// A block's encoded bytes cut into fixed-size parts, each provable against the part-set root,
/// so that a large block travels as many small messages, each checked on arrival.
public struct PartSet: Sendable {
    /// Bytes per part (the last may be shorter).
    public static let partBytes = 64 * 1024
    /// Parts per block at most (64 MiB of block).
    public static let partsMax: UInt32 = 1024

    /// The header that names these parts.
    public let header: PartSetHeader
    /// The parts, in order.
    public let parts: [BlockPart]

    /// Cuts `bytes` into parts and proves each against the root.
    public init(bytes: [UInt8]) {
        var chunks: [[UInt8]] = []
        var start = 0
        repeat {
            let end = min(start + Self.partBytes, bytes.count)
            chunks.append(Array(bytes[start..<end]))
            start = end
        } while start < bytes.count
        precondition(chunks.count <= Int(Self.partsMax), "block larger than the part limit")
        let tree = MerkleTree(leaves: chunks)
        header = PartSetHeader(total: UInt32(chunks.count), root: tree.root)
        parts = chunks.enumerated().map { index, chunk in
            BlockPart(index: UInt32(index), bytes: chunk, proof: tree.inclusionProof(leafIndex: index))
        }
    }
}

/// One part of a block with its Merkle path to the part-set root.
public struct BlockPart: Sendable, Hashable {
    /// Position among the parts.
    public var index: UInt32
    /// The part's bytes.
    public var bytes: [UInt8]
    /// Path to the root named by the part-set header.
    public var proof: InclusionProof

    /// All fields.
    public init(index: UInt32, bytes: [UInt8], proof: InclusionProof) {
        self.index = index
        self.bytes = bytes
        self.proof = proof
    }

    /// True when this part is part `index` of the set `header` names.
    public func isValid(for header: PartSetHeader) -> Bool {
        guard index < header.total, proof.leafIndex == UInt64(index), bytes.count <= PartSet.partBytes else {
            return false
        }
        return proof.verify(
            leafHash: MerkleHashing.leafHash(bytes), head: MerkleTreeHead(size: UInt64(header.total), root: header.root)
        )
    }
}

extension BlockPart: CanonicalCodable {
    /// Index, bytes, proof.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeVarint(UInt64(index))
        encoder.writeBytes(bytes)
        encoder.write(proof)
    }

    /// Reads what `encode` writes.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        index = try decoder.readVarint(as: UInt32.self)
        bytes = try decoder.readBytes()
        proof = try decoder.read(InclusionProof.self)
    }
}

/// Collects the parts of one block as they arrive, in any order, checking each.
public struct PartSetAssembler: Sendable {
    /// The set being assembled.
    public let header: PartSetHeader
    private var received: [[UInt8]?]
    /// How many distinct parts have arrived.
    public private(set) var count: Int = 0

    /// An empty assembler for `header`.
    public init(header: PartSetHeader) {
        precondition(header.total >= 1 && header.total <= PartSet.partsMax, "part count checked on decode")
        self.header = header
        received = Array(repeating: nil, count: Int(header.total))
    }

    /// Whether every part is here.
    public var isComplete: Bool { count == received.count }

    /// Whether part `index` is here.
    public func has(_ index: Int) -> Bool { index < received.count && received[index] != nil }

    /// One bit per part, set when the part is here.
    public var bitmap: BitArray {
        var bits = BitArray(count: received.count)
        for index in received.indices where received[index] != nil { bits[index] = true }
        return bits
    }

    /// Adds a part. Returns false for a duplicate; throws for a part that does not belong.
    public mutating func add(_ part: BlockPart) throws(ConsensusError) -> Bool {
        guard part.isValid(for: header) else { throw .invalidPart }
        let index = Int(part.index)
        guard received[index] == nil else { return false }
        received[index] = part.bytes
        count += 1
        return true
    }

    /// The block's bytes once complete.
    public func assembledBytes() -> [UInt8]? {
        guard isComplete else { return nil }
        var bytes: [UInt8] = []
        for part in received { bytes += part ?? [] }
        return bytes
    }
}
