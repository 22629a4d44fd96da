public import MeshCore

/// What consensus knows after the last committed block: enough to validate and decide the next.
public struct ChainState: Sendable, Hashable {
    /// The chain.
    public var chainId: String
    /// Time of height 1, from genesis.
    public var genesisTimeMs: UInt64
    /// The last committed height (0 at genesis).
    public var lastBlockHeight: UInt64
    /// The last committed block (nil at genesis).
    public var lastBlockID: BlockID?
    /// BFT time of the last block (genesis time at genesis).
    public var lastBlockTimeMs: UInt64
    /// The validators that decide `lastBlockHeight + 1`.
    public var validators: ValidatorSet
    /// The validators that decide `lastBlockHeight + 2`.
    public var nextValidators: ValidatorSet
    /// The validators that decided `lastBlockHeight` (nil at genesis).
    public var lastValidators: ValidatorSet?
    /// The application's state after `lastBlockHeight`.
    public var appHash: Hash256

    /// The state at genesis: the initial set decides height 1 and, unchanged, height 2.
    public init(chainId: String, genesisTimeMs: UInt64, validators: ValidatorSet, appHash: Hash256) {
        self.chainId = chainId
        self.genesisTimeMs = genesisTimeMs
        lastBlockHeight = 0
        lastBlockID = nil
        lastBlockTimeMs = genesisTimeMs
        self.validators = validators
        nextValidators = validators.advanced(rounds: 1)
        lastValidators = nil
        self.appHash = appHash
    }

    /// The height being decided.
    public var height: UInt64 { lastBlockHeight + 1 }

    /// The state after committing `block`: sets shift by one height and the application's
    /// validator updates join the set two heights ahead (CometBFT's H+2 rule).
    public func next(
        block: Block, blockID: BlockID, appHash: Hash256, validatorUpdates: [ValidatorUpdate]
    )
        throws(ConsensusError) -> ChainState
    {
        precondition(block.header.height == height, "blocks commit in order")
        var following = nextValidators
        if !validatorUpdates.isEmpty { try following.apply(validatorUpdates) }
        following.incrementProposerPriority(times: 1)
        var state = self
        state.lastBlockHeight = block.header.height
        state.lastBlockID = blockID
        state.lastBlockTimeMs = block.header.timeMs
        state.lastValidators = validators
        state.validators = nextValidators
        state.nextValidators = following
        state.appHash = appHash
        return state
    }
}

extension ChainState: CanonicalCodable {
    /// Fields in declaration order.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeString(chainId)
        encoder.writeVarint(genesisTimeMs)
        encoder.writeVarint(lastBlockHeight)
        encoder.writeOptional(lastBlockID)
        encoder.writeVarint(lastBlockTimeMs)
        encoder.write(validators)
        encoder.write(nextValidators)
        encoder.writeOptional(lastValidators)
        encoder.write(appHash)
    }

    /// Reads what `encode` writes.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        chainId = try decoder.readString()
        genesisTimeMs = try decoder.readVarint()
        lastBlockHeight = try decoder.readVarint()
        lastBlockID = try decoder.readOptional(BlockID.self)
        lastBlockTimeMs = try decoder.readVarint()
        validators = try decoder.read(ValidatorSet.self)
        nextValidators = try decoder.read(ValidatorSet.self)
        lastValidators = try decoder.readOptional(ValidatorSet.self)
        appHash = try decoder.read(Hash256.self)
    }
}

/// What a committed block did, kept beside the block for queries by transaction hash.
public struct BlockResults: Sendable, Hashable {
    /// One result per transaction, in block order.
    public var transactions: [TransactionResult]
    /// The app hash after the block.
    public var appHash: Hash256

    /// Both fields.
    public init(transactions: [TransactionResult], appHash: Hash256) {
        self.transactions = transactions
        self.appHash = appHash
    }
}

extension BlockResults: CanonicalCodable {
    /// Each result as code, module, message, fee and events; then the app hash.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeVarint(UInt64(transactions.count))
        for result in transactions {
            encoder.writeVarint(UInt64(result.code))
            encoder.writeString(result.module)
            encoder.writeString(result.message)
            encoder.writeVarint(result.feePaid)
            encoder.writeVarint(UInt64(result.events.count))
            for event in result.events {
                encoder.writeString(event.type)
                encoder.writeVarint(UInt64(event.attributes.count))
                for attribute in event.attributes {
                    encoder.writeString(attribute.key)
                    encoder.writeString(attribute.value)
                }
            }
        }
        encoder.write(appHash)
    }

    /// Reads what `encode` writes.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        let count = try decoder.readVarint()
        guard count <= UInt64(decoder.remainingCount) else { throw decoder.invalid("result count") }
        var results: [TransactionResult] = []
        for _ in 0..<count {
            let code = try decoder.readVarint(as: UInt32.self)
            let module = try decoder.readString()
            let message = try decoder.readString()
            let fee = try decoder.readVarint()
            let eventCount = try decoder.readVarint()
            guard eventCount <= UInt64(decoder.remainingCount) else { throw decoder.invalid("event count") }
            var events: [Event] = []
            for _ in 0..<eventCount {
                let type = try decoder.readString()
                let attributeCount = try decoder.readVarint()
                guard attributeCount <= UInt64(decoder.remainingCount) else { throw decoder.invalid("attribute count") }
                var attributes: [(String, String)] = []
                for _ in 0..<attributeCount { attributes.append((try decoder.readString(), try decoder.readString())) }
                events.append(Event(type: type, attributes))
            }
            results.append(
                TransactionResult(code: code, module: module, message: message, events: events, feePaid: fee))
        }
        transactions = results
        appHash = try decoder.read(Hash256.self)
    }
}
