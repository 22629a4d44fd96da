/// A domain-separation tag: what a signature is *for*.
///
/// The bytes actually signed are `varint(tag length) || tag || message`. Tags are distinct
/// ASCII strings of at most 64 bytes, so two domains never produce the same signing input,
/// and no signing input can begin like a JWS signing input (`eyJ…`, whose first byte would
/// be read as a length of 101).
public struct SigningDomain: Hashable, Sendable, CustomStringConvertible {
    /// Longest tag, in bytes.
    public static let tagBytesMax = 64

    /// The tag, e.g. `meshwork/tx/v1`.
    public let tag: String

    /// A domain with `tag`; tags are constants in the code, so a bad one is a programming error.
    public init(_ tag: String) {
        precondition(!tag.isEmpty && tag.utf8.count <= SigningDomain.tagBytesMax)
        precondition(tag.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7f })
        self.tag = tag
    }

    /// Transactions submitted to the ledger.
    public static let transaction = SigningDomain("meshwork/tx/v1")
    /// Consensus prevotes and precommits.
    public static let vote = SigningDomain("meshwork/vote/v1")
    /// Consensus block proposals.
    public static let proposal = SigningDomain("meshwork/proposal/v1")
    /// The node-key proof inside the P2P handshake.
    public static let nodeHandshake = SigningDomain("meshwork/p2p-handshake/v1")
    /// Device telemetry records signed at the source.
    public static let telemetry = SigningDomain("meshwork/telemetry/v1")
    /// Storage shard receipts and proofs.
    public static let storage = SigningDomain("meshwork/storage/v1")
    /// A node's proof, on the relay channel, that it runs for an identity on the ledger.
    public static let relayNode = SigningDomain("meshwork/relay-node/v1")
    /// A deal owner's permission to upload one shard or the manifest of its deal to a provider.
    public static let storageUpload = SigningDomain("meshwork/storage-upload/v1")
    /// A payer's off-ledger promise to a payment channel's payee (`channel.redeem`).
    public static let voucher = SigningDomain("meshwork/voucher/v1")
    /// A reporter's signed reading for a data feed (`oracle.report`).
    public static let observation = SigningDomain("meshwork/observation/v1")
    /// A device's install receipt for a firmware rollout (`ota.report`).
    public static let installReceipt = SigningDomain("meshwork/ota-receipt/v1")

    /// The bytes that are actually signed for `message` in this domain.
    public func signingInput(_ message: some Collection<UInt8>) -> [UInt8] {
        var input: [UInt8] = []
        input.reserveCapacity(1 + tag.utf8.count + message.count)
        Varint.encode(UInt64(tag.utf8.count), into: &input)
        input.append(contentsOf: tag.utf8)
        input.append(contentsOf: message)
        return input
    }

    /// The tag.
    public var description: String { tag }
}
