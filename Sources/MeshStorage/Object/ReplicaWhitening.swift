import Crypto
import MeshCore

/// Makes each replica of a replicated object its own bytes: shard j > 0 holds the sealed
/// stream XOR a keystream of its index, so every replica has its own shard-segment hashes and its
/// own root, and a piece proven for one replica is no proof for another. The keystream is public
/// (ChaCha20 of zeros under `SHA-256("meshwork/replica/v1" ‖ u8(j))`, nonce `u32(0) ‖
/// u64be(segment)`): the bytes it whitens are already ciphertext, and a repairing provider
/// rebuilds replica j from replica i without the object's key. It does not prove replication: a
/// provider holding replica i can compute replica j on demand (SECURITY.md, open gaps).
public enum ReplicaWhitening {
    /// XORs the keystream of replica `shard`, segment `segment`, into `bytes` (applying it twice
    /// restores them). Replica 0 is the sealed stream itself.
    public static func apply(_ bytes: inout [UInt8], shard: Int, segment: Int) {
        guard shard > 0, !bytes.isEmpty else { return }
        let stream = keystream(shard: shard, segment: segment, count: bytes.count)
        for index in bytes.indices { bytes[index] ^= stream[index] }
    }

    static func keystream(shard: Int, segment: Int, count: Int) -> [UInt8] {
        var seed = Array("meshwork/replica/v1".utf8)
        seed.append(UInt8(truncatingIfNeeded: shard))
        let key = SymmetricKey(data: Hash256.sha256(seed).bytes)
        var nonce = [UInt8](repeating: 0, count: 4)
        withUnsafeBytes(of: UInt64(segment).bigEndian) { nonce += $0 }
        // Sealing zeros yields the ChaCha20 keystream (from block 1) as the ciphertext.
        guard let chachaNonce = try? ChaChaPoly.Nonce(data: nonce),
            let sealed = try? ChaChaPoly.seal([UInt8](repeating: 0, count: count), using: key, nonce: chachaNonce)
        else { preconditionFailure("a 12-byte nonce and a 32-byte key always seal") }
        return [UInt8](sealed.ciphertext)
    }
}
