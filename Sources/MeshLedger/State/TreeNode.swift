import MeshCore

/// A stored node of the state tree. Nodes are immutable; an update writes new nodes and marks
/// the replaced ones stale at that height.
enum TreeNode: Sendable, Equatable {
    case leaf(TreeLeaf)
    case branch(TreeBranch)
}

/// A key and its value.
struct TreeLeaf: Sendable, Equatable {
    var path: Hash256
    var key: [UInt8]
    var value: [UInt8]

    var hash: Hash256 { TreeHashing.leafHash(path: path, valueHash: Hash256.sha256(value)) }
}

/// A pointer to a stored node, with the node's hash so parents hash without loading children.
struct TreeChild: Sendable, Equatable {
    var id: Int64
    var hash: Hash256
    var isLeaf: Bool
}

/// Two children; at least one is present, and a branch never holds a lone leaf below it.
struct TreeBranch: Sendable, Equatable {
    var left: TreeChild?
    var right: TreeChild?

    var hash: Hash256 {
        TreeHashing.branchHash(left: left?.hash ?? .zero, right: right?.hash ?? .zero)
    }

    func child(_ goesRight: Bool) -> TreeChild? { goesRight ? right : left }
}

/// Byte format of a stored node (the `nodes.data` column):
/// leaf = `0x00 ‖ path(32) ‖ varint(len) ‖ key ‖ value`;
/// branch = `0x01 ‖ child(left) ‖ child(right)` with child = `0x00` (empty) or
/// `0x01|0x02 (leaf|branch) ‖ hash(32) ‖ varint(id)`.
extension TreeNode {
    func encoded() -> [UInt8] {
        var encoder = CanonicalEncoder(capacity: 80)
        switch self {
        case .leaf(let leaf):
            encoder.writeUInt8(0)
            encoder.write(leaf.path)
            encoder.writeBytes(leaf.key)
            encoder.writeRawBytes(leaf.value)
        case .branch(let branch):
            encoder.writeUInt8(1)
            for child in [branch.left, branch.right] {
                guard let child else {
                    encoder.writeUInt8(0)
                    continue
                }
                encoder.writeUInt8(child.isLeaf ? 1 : 2)
                encoder.write(child.hash)
                encoder.writeVarint(UInt64(child.id))
            }
        }
        return encoder.bytes
    }

    init(decoding bytes: [UInt8]) throws(CanonicalDecodingError) {
        var decoder = try CanonicalDecoder(bytes: bytes)
        switch try decoder.readVariantTag(variantCount: 2) {
        case 0:
            let path = try decoder.read(Hash256.self)
            let key = try decoder.readBytes()
            let value = try decoder.readRawBytes(count: decoder.remainingCount)
            self = .leaf(TreeLeaf(path: path, key: key, value: value))
        default:
            var children: [TreeChild?] = []
            for _ in 0..<2 {
                let tag = try decoder.readVariantTag(variantCount: 3)
                if tag == 0 {
                    children.append(nil)
                    continue
                }
                let hash = try decoder.read(Hash256.self)
                let id = try decoder.readVarint()
                guard id > 0, id <= UInt64(Int64.max) else { throw decoder.invalid("node id out of range") }
                children.append(TreeChild(id: Int64(id), hash: hash, isLeaf: tag == 1))
            }
            try decoder.finish()
            self = .branch(TreeBranch(left: children[0], right: children[1]))
        }
    }
}
