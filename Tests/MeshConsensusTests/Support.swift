import MeshConsensus
import MeshCore

/// Deterministic keys for tests.
func testKey(_ index: UInt8) -> Ed25519.PrivateKey {
    var seed = [UInt8](repeating: 0, count: 32)
    seed[0] = index
    seed[31] = 0xC0
    guard let key = try? Ed25519.PrivateKey(seed: seed) else { preconditionFailure("fixed seeds are valid keys") }
    return key
}

/// A validator set of `count` test keys with the given powers (default 1 each).
func testValidators(_ count: Int, powers: [UInt64]? = nil) throws -> ValidatorSet {
    try ValidatorSet(
        (0..<count).map { ValidatorUpdate(publicKey: testKey(UInt8($0)).publicKey, power: powers?[$0] ?? 1) })
}

/// A block id with a recognizable hash.
func testBlockID(_ byte: UInt8) -> BlockID {
    BlockID(
        hash: Hash256.sha256([byte]), parts: PartSetHeader(total: 1, root: Hash256.sha256([byte, byte])))
}

/// A vote signed by the private key matching validator `index` of `validators`.
func signedVote(
    _ kind: VoteKind, height: UInt64, round: UInt32, blockID: BlockID?, index: Int, validators: ValidatorSet,
    keys: [Ed25519.PrivateKey], chainId: String = "sim"
) -> Vote {
    let publicKey = validators.validators[index].publicKey
    guard let key = keys.first(where: { $0.publicKey == publicKey }) else { preconditionFailure("key for validator") }
    var vote = Vote(
        kind: kind, height: height, round: round, blockID: blockID, timeMs: 1000, validatorIndex: UInt32(index),
        validator: publicKey, signature: key.sign([], domain: .vote))
    vote.signature = key.sign(vote.signBytes(chainId: chainId), domain: .vote)
    return vote
}
