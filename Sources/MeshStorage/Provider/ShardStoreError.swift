public import MeshCore

/// Why a provider refused or could not serve a shard; codes are stable (`shardstore/N`).
public enum ShardStoreError: MeshError, Equatable {
    /// The upload is not the length the deal gives.
    case wrongSize(expected: UInt64, got: UInt64)
    /// The upload's pieces do not hash to the root the deal records.
    case wrongRoot(expected: Hash256, got: Hash256)
    /// The shard is not stored here.
    case notFound(Hash256)
    /// The stored shard no longer matches its root (the disk lost or changed it).
    case corrupt(Hash256)
    /// The bytes do not hash to the manifest CID they were sent for.
    case manifestMismatch(String)
    /// Reading or writing the disk failed.
    case io(String)
    /// A manifest upload is over the largest sealed manifest.
    case manifestTooLarge(limit: UInt64)

    /// `shardstore`.
    public var module: String { "shardstore" }

    /// The stable number.
    public var code: UInt32 {
        switch self {
        case .wrongSize: 1
        case .wrongRoot: 2
        case .notFound: 3
        case .corrupt: 4
        case .manifestMismatch: 5
        case .io: 6
        case .manifestTooLarge: 7
        }
    }

    /// One sentence.
    public var message: String {
        switch self {
        case .wrongSize(let expected, let got): "the shard has \(got) bytes; the deal gives \(expected)"
        case .wrongRoot(let expected, let got):
            "the shard's pieces hash to root \(got.hex), not \(expected.hex) as the deal records"
        case .notFound(let root): "no shard with root \(root.hex) is stored here"
        case .corrupt(let root): "the stored shard \(root.hex) no longer matches its root"
        case .manifestTooLarge(let limit): "the manifest upload is over \(limit) bytes, the largest sealed manifest"
        case .manifestMismatch(let cid): "the bytes do not hash to manifest \(cid)"
        case .io(let reason): reason
        }
    }
}
