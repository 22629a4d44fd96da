import MeshCore
import Testing

@Suite struct MerkleTests {
    @Test func rootsMatchTheCertificateTransparencyVectors() throws {
        let fixture = try Fixture.json("merkle-ct-vectors.json")
        let leaves = try (try #require(fixture["leaves"] as? [String])).map { try Hex.decode($0) }
        let roots = try #require(fixture["roots"] as? [String])
        for size in 1...leaves.count {
            #expect(MerkleTree(leaves: Array(leaves[..<size])).root == (try hash(roots[size - 1])))
        }
        #expect(
            MerkleTree(leaves: []).root
                == (try hash("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")))
    }

    @Test func inclusionProofsVerifyForEveryLeafOfSizesOneToHundred() {
        for size in 1...100 {
            let tree = MerkleTree(leaves: (0..<size).map { [UInt8(truncatingIfNeeded: $0), UInt8($0 >> 8)] })
            let head = tree.head
            for index in 0..<size {
                let proof = tree.inclusionProof(leafIndex: index)
                #expect(proof.verify(leafHash: tree.leafHashes[index], head: head), "size \(size) leaf \(index)")
                // The same path does not prove the neighbouring leaf.
                let other = tree.leafHashes[(index + 1) % size]
                if size > 1 { #expect(!proof.verify(leafHash: other, head: head)) }
            }
        }
    }

    @Test func everySingleBitChangeToAnInclusionProofLeafOrRootIsRejected() throws {
        for size in 1...100 {
            let tree = MerkleTree(leaves: (0..<size).map { Array("leaf \($0)".utf8) })
            let head = tree.head
            for index in Set([0, size - 1, (size * 7) % size]) {
                let proof = tree.inclusionProof(leafIndex: index)
                let leaf = tree.leafHashes[index]
                #expect(proof.verify(leafHash: leaf, head: head))
                for flipped in bitFlips(proof.canonicalBytes) {
                    // A flip either breaks decoding or yields a proof that fails.
                    if let changed = try? InclusionProof(canonicalBytes: flipped) {
                        #expect(!changed.verify(leafHash: leaf, head: head), "size \(size) leaf \(index)")
                    }
                }
                for flipped in bitFlips(leaf.bytes) {
                    #expect(!proof.verify(leafHash: try #require(Hash256(bytes: flipped)), head: head))
                }
                for flipped in bitFlips(head.root.bytes) {
                    let wrongHead = MerkleTreeHead(size: head.size, root: try #require(Hash256(bytes: flipped)))
                    #expect(!proof.verify(leafHash: leaf, head: wrongHead))
                }
            }
        }
    }

    @Test func consistencyProofsVerifyForEveryPairOfSizesUpToHundred() {
        let tree = MerkleTree(leaves: (0..<100).map { Array("entry \($0)".utf8) })
        let heads = (1...100).map { MerkleTree(leafHashes: Array(tree.leafHashes[..<$0])).head }
        for newSize in 1...100 {
            let newer = MerkleTree(leafHashes: Array(tree.leafHashes[..<newSize]))
            for oldSize in 1...newSize {
                let proof = newer.consistencyProof(fromSize: oldSize)
                #expect(proof.verify(old: heads[oldSize - 1], new: heads[newSize - 1]), "\(oldSize) -> \(newSize)")
                if oldSize < newSize {
                    // Not consistent with a tree that differs in its last leaf.
                    var forged = Array(tree.leafHashes[..<newSize])
                    forged[oldSize - 1] = MerkleHashing.leafHash([0xff])
                    #expect(!proof.verify(old: heads[oldSize - 1], new: MerkleTree(leafHashes: forged).head))
                }
            }
        }
    }

    @Test func everySingleBitChangeToAConsistencyProofIsRejected() throws {
        let tree = MerkleTree(leaves: (0..<100).map { Array("entry \($0)".utf8) })
        for (oldSize, newSize) in [(1, 2), (3, 7), (4, 8), (5, 100), (64, 100), (99, 100), (37, 41)] {
            let old = MerkleTree(leafHashes: Array(tree.leafHashes[..<oldSize])).head
            let newer = MerkleTree(leafHashes: Array(tree.leafHashes[..<newSize]))
            let proof = newer.consistencyProof(fromSize: oldSize)
            for flipped in bitFlips(proof.canonicalBytes) {
                if let changed = try? ConsistencyProof(canonicalBytes: flipped) {
                    #expect(!changed.verify(old: old, new: newer.head))
                }
            }
            for flipped in bitFlips(old.root.bytes) {
                #expect(
                    !proof.verify(
                        old: MerkleTreeHead(size: old.size, root: try #require(Hash256(bytes: flipped))),
                        new: newer.head))
            }
        }
    }

    @Test func malformedProofsAreRejected() {
        let tree = MerkleTree(leaves: [[1], [2], [3]])
        let proof = tree.inclusionProof(leafIndex: 1)
        #expect(!InclusionProof(leafIndex: 3, path: proof.path).verify(leafHash: tree.leafHashes[1], head: tree.head))
        #expect(
            !InclusionProof(leafIndex: 1, path: proof.path + proof.path).verify(
                leafHash: tree.leafHashes[1], head: tree.head))
        #expect(!InclusionProof(leafIndex: 1, path: []).verify(leafHash: tree.leafHashes[1], head: tree.head))
        #expect(
            !ConsistencyProof(path: []).verify(old: MerkleTreeHead(size: 1, root: tree.leafHashes[0]), new: tree.head))
        #expect(
            !ConsistencyProof(path: []).verify(
                old: MerkleTreeHead(size: 0, root: MerkleHashing.emptyRoot), new: tree.head))
        let oversize = [1] + Varint.encode(65) + [UInt8](repeating: 0, count: 65 * 32)
        #expect(throws: CanonicalDecodingError.self) { try InclusionProof(canonicalBytes: oversize) }
        #expect(throws: CanonicalDecodingError.self) { try InclusionProof(canonicalBytes: [1, 1, 0]) }
    }
}

@Suite struct MerkleProofEncodingTests {
    @Test func proofsRoundTripCanonically() throws {
        let tree = MerkleTree(leaves: (0..<37).map { [UInt8($0)] })
        for index in [0, 17, 36] {
            let proof = tree.inclusionProof(leafIndex: index)
            #expect(try InclusionProof(canonicalBytes: proof.canonicalBytes) == proof)
        }
        for oldSize in [1, 16, 20, 37] {
            let proof = tree.consistencyProof(fromSize: oldSize)
            #expect(try ConsistencyProof(canonicalBytes: proof.canonicalBytes) == proof)
        }
    }

    @Test func everyTruncationOfAProofIsRejected() {
        let bytes = MerkleTree(leaves: (0..<9).map { [UInt8($0)] }).inclusionProof(leafIndex: 4).canonicalBytes
        for length in 0..<bytes.count {
            #expect(throws: CanonicalDecodingError.self) { try InclusionProof(canonicalBytes: Array(bytes[..<length])) }
        }
    }
}
