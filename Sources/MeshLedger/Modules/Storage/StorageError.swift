public import MeshCore

/// Failures of storage messages. Module `storage`; see `Modules/Storage/README.md`.
public enum StorageError: MeshError, Equatable {
    /// The account has not registered as a provider.
    case notProvider(String)
    /// A registration field is out of range.
    case badRegistration(String)
    /// A deal's terms are out of range or inconsistent.
    case badDeal(String)
    /// A provider cannot take this shard (inactive, full, or named twice).
    case providerUnavailable(provider: String, reason: String)
    /// The deal would escrow more than the signer allowed.
    case escrowAboveLimit(needed: UInt64, limit: UInt64)
    /// No live deal has this id.
    case dealNotFound(UInt64)
    /// The deal has no shard at this index.
    case shardNotFound(deal: UInt64, shard: UInt32)
    /// The signer is not the provider holding the shard.
    case notShardProvider(deal: UInt64, shard: UInt32)
    /// The shard has no open challenge to answer.
    case noOpenChallenge(deal: UInt64, shard: UInt32)
    /// The piece and path do not lead to the shard root in the deal.
    case proofInvalid(String)
    /// Only a lost shard can be repaired.
    case shardNotLost(deal: UInt64, shard: UInt32)
    /// A live deal already stores this manifest.
    case manifestInUse(String)
    /// The new capacity is below the bytes already stored.
    case capacityBelowUsed(capacity: UInt64, used: UInt64)

    /// `storage`.
    public var module: String { "storage" }

    /// Stable codes.
    public var code: UInt32 {
        switch self {
        case .notProvider: 1
        case .badRegistration: 2
        case .badDeal: 3
        case .providerUnavailable: 4
        case .escrowAboveLimit: 5
        case .dealNotFound: 6
        case .shardNotFound: 7
        case .notShardProvider: 8
        case .noOpenChallenge: 9
        case .proofInvalid: 10
        case .shardNotLost: 11
        case .manifestInUse: 12
        case .capacityBelowUsed: 13
        }
    }

    /// One sentence.
    public var message: String {
        switch self {
        case .notProvider(let did): "\(did) is not a registered storage provider"
        case .badRegistration(let reason): "bad provider registration: \(reason)"
        case .badDeal(let reason): "bad deal: \(reason)"
        case .providerUnavailable(let provider, let reason): "provider \(provider) cannot take the shard: \(reason)"
        case .escrowAboveLimit(let needed, let limit):
            "the deal needs an escrow of \(needed), above the limit of \(limit) the signer set"
        case .dealNotFound(let id): "no live deal \(id)"
        case .shardNotFound(let deal, let shard): "deal \(deal) has no shard \(shard)"
        case .notShardProvider(let deal, let shard): "the signer does not hold shard \(shard) of deal \(deal)"
        case .noOpenChallenge(let deal, let shard): "shard \(shard) of deal \(deal) has no open challenge"
        case .proofInvalid(let reason): "the proof does not verify: \(reason)"
        case .shardNotLost(let deal, let shard): "shard \(shard) of deal \(deal) is not lost"
        case .manifestInUse(let cid): "a live deal already stores manifest \(cid)"
        case .capacityBelowUsed(let capacity, let used):
            "capacity \(capacity) is below the \(used) bytes already stored"
        }
    }
}
