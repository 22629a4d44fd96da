public import MeshCore

/// One validator of a height: its key, voting power and proposer priority.
public struct Validator: Sendable, Hashable {
    /// The consensus key.
    public var publicKey: Ed25519.PublicKey
    /// Voting power (bonded stake as the application reports it).
    public var power: UInt64
    /// CometBFT proposer priority: grows by power every round, drops by the total when chosen.
    public var proposerPriority: Int64

    /// All fields.
    public init(publicKey: Ed25519.PublicKey, power: UInt64, proposerPriority: Int64 = 0) {
        self.publicKey = publicKey
        self.power = power
        self.proposerPriority = proposerPriority
    }
}

/// The validators of one height, in canonical order (power descending, then key ascending),
/// with proposer selection as in CometBFT's proposer-selection spec.
public struct ValidatorSet: Sendable, Hashable {
    /// Validators at most.
    public static let countMax = 1000
    /// Total voting power at most, so that priorities fit in Int64 with room.
    public static let totalPowerMax: UInt64 = UInt64(Int64.max / 8)
    /// Priorities are rescaled when their spread passes this multiple of the total power.
    static let priorityWindowFactor: Int64 = 2
    /// A stored or received priority's magnitude at most: leaves room for a round's additions and
    /// for differences between two priorities without overflow.
    public static let priorityMagnitudeMax: Int64 = Int64.max / 4

    /// The validators in canonical order.
    public private(set) var validators: [Validator]
    /// Sum of voting power.
    public private(set) var totalPower: UInt64
    /// The proposer chosen by the last priority increment.
    public private(set) var proposerIndex: Int

    /// A set from genesis: priorities start at zero and are incremented once, as CometBFT does.
    public init(_ updates: [ValidatorUpdate]) throws(ConsensusError) {
        validators = []
        totalPower = 0
        proposerIndex = 0
        try apply(updates)
        guard !validators.isEmpty else { throw .emptyValidatorSet }
        incrementProposerPriority(times: 1)
    }

    /// A set with given priorities (as loaded from disk); recomputes the total.
    public init(loading validators: [Validator], proposerIndex: Int) throws(ConsensusError) {
        guard !validators.isEmpty, validators.count <= Self.countMax, proposerIndex < validators.count else {
            throw .emptyValidatorSet
        }
        guard let total = Self.checkedTotal(validators.lazy.map(\.power)),
            validators.allSatisfy({
                $0.power > 0 && $0.proposerPriority.magnitude <= Self.priorityMagnitudeMax.magnitude
            })
        else {
            throw .invalidValidatorUpdate
        }
        guard Set(validators.map(\.publicKey)).count == validators.count else { throw .invalidValidatorUpdate }
        self.validators = validators
        self.totalPower = total
        self.proposerIndex = proposerIndex
        sortCanonically()
    }

    /// Number of validators.
    public var count: Int { validators.count }

    /// The current proposer.
    public var proposer: Validator { validators[proposerIndex] }

    /// Position of `key`, if it is a validator.
    public func index(of key: Ed25519.PublicKey) -> Int? { validators.firstIndex { $0.publicKey == key } }

    /// Whether `power` is more than 2/3 of the total.
    public func isQuorum(_ power: UInt64) -> Bool { power * 3 > totalPower * 2 }

    /// Whether `power` is more than 1/3 of the total (at least one honest validator among them).
    public func isOneThirdPlus(_ power: UInt64) -> Bool { power * 3 > totalPower }

    /// Merkle root over (key, power) in set order; priorities are not part of it.
    public var hash: Hash256 {
        MerkleTree(
            leaves: validators.map { validator in
                var encoder = CanonicalEncoder()
                encoder.write(validator.publicKey)
                encoder.writeVarint(validator.power)
                return encoder.bytes
            }
        ).root
    }

    /// A copy advanced by `rounds` proposer selections: the set of round `rounds` of a height.
    public func advanced(rounds: UInt32) -> ValidatorSet {
        var copy = self
        if rounds > 0 { copy.incrementProposerPriority(times: Int(rounds)) }
        return copy
    }

    /// Runs `times` proposer selections: rescale and centre the priorities, then for each
    /// selection add every power and take the total from the highest (ties to the lower key).
    public mutating func incrementProposerPriority(times: Int) {
        precondition(times > 0, "at least one selection")
        precondition(!validators.isEmpty, "a set has validators")
        let total = Int64(totalPower)
        rescalePriorities(diffMax: Self.priorityWindowFactor * total)
        shiftByAveragePriority()
        for _ in 0..<times {
            var best = 0
            for index in validators.indices {
                validators[index].proposerPriority += Int64(validators[index].power)
                let candidate = validators[index]
                let current = validators[best]
                if candidate.proposerPriority > current.proposerPriority
                    || (candidate.proposerPriority == current.proposerPriority
                        && candidate.publicKey < current.publicKey)
                {
                    best = index
                }
            }
            validators[best].proposerPriority -= total
            proposerIndex = best
        }
    }

    /// Applies power changes (0 removes). New validators start at priority -1.125 × the new
    /// total, so they do not propose at once; the result is rescaled and centred.
    public mutating func apply(_ updates: [ValidatorUpdate]) throws(ConsensusError) {
        guard Set(updates.map(\.publicKey)).count == updates.count else { throw .invalidValidatorUpdate }
        var byKey: [Ed25519.PublicKey: Validator] = [:]
        for validator in validators { byKey[validator.publicKey] = validator }
        var added: [Ed25519.PublicKey] = []
        for update in updates {
            if update.power == 0 {
                guard byKey.removeValue(forKey: update.publicKey) != nil else { throw .invalidValidatorUpdate }
            } else if byKey[update.publicKey] != nil {
                byKey[update.publicKey]?.power = update.power
            } else {
                byKey[update.publicKey] = Validator(publicKey: update.publicKey, power: update.power)
                added.append(update.publicKey)
            }
        }
        guard let total = Self.checkedTotal(byKey.values.lazy.map(\.power)), byKey.count <= Self.countMax else {
            throw .invalidValidatorUpdate
        }
        guard !byKey.isEmpty else { throw .emptyValidatorSet }
        let newPriority = -(Int64(total) + Int64(total) / 8)
        for key in added { byKey[key]?.proposerPriority = newPriority }
        let proposerKey = validators.isEmpty ? nil : validators[proposerIndex].publicKey
        validators = Array(byKey.values)
        totalPower = total
        sortCanonically()
        proposerIndex = proposerKey.flatMap { index(of: $0) } ?? 0
        rescalePriorities(diffMax: Self.priorityWindowFactor * Int64(total))
        shiftByAveragePriority()
    }

    /// The sum of `powers` if it neither overflows nor passes `totalPowerMax`.
    private static func checkedTotal(_ powers: some Sequence<UInt64>) -> UInt64? {
        var total: UInt64 = 0
        for power in powers {
            let (sum, overflow) = total.addingReportingOverflow(power)
            guard !overflow, sum <= totalPowerMax else { return nil }
            total = sum
        }
        return total
    }

    /// Whether the validators are in canonical order (power descending, then key ascending).
    static func isCanonicallyOrdered(_ validators: [Validator]) -> Bool {
        zip(validators, validators.dropFirst()).allSatisfy { first, second in
            first.power != second.power ? first.power > second.power : first.publicKey < second.publicKey
        }
    }

    private mutating func sortCanonically() {
        let proposerKey = validators.isEmpty ? nil : validators[min(proposerIndex, validators.count - 1)].publicKey
        validators.sort { $0.power != $1.power ? $0.power > $1.power : $0.publicKey < $1.publicKey }
        proposerIndex = proposerKey.flatMap { index(of: $0) } ?? 0
    }

    private mutating func rescalePriorities(diffMax: Int64) {
        guard diffMax > 0 else { return }
        let priorities = validators.map(\.proposerPriority)
        guard let high = priorities.max(), let low = priorities.min() else { return }
        let spread = high - low
        guard spread > diffMax else { return }
        let ratio = (spread + diffMax - 1) / diffMax
        for index in validators.indices { validators[index].proposerPriority /= ratio }
    }

    private mutating func shiftByAveragePriority() {
        let count = Int128(validators.count)
        // Summed wide: up to 1,000 priorities of up to 2^61 each do not fit in 64 bits.
        let sum = validators.reduce(Int128(0)) { $0 + Int128($1.proposerPriority) }
        // Euclidean division (rounds toward negative infinity for a positive divisor), as Go's big.Int.
        var average = sum / count
        if sum % count < 0 { average -= 1 }
        for index in validators.indices { validators[index].proposerPriority -= Int64(average) }
    }
}

extension Validator: CanonicalCodable {
    /// Key, power, priority.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.write(publicKey)
        encoder.writeVarint(power)
        encoder.writeZigZag(proposerPriority)
    }

    /// Reads what `encode` writes.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        publicKey = try decoder.read(Ed25519.PublicKey.self)
        power = try decoder.readVarint()
        proposerPriority = try decoder.readZigZag()
    }
}

extension ValidatorSet: CanonicalCodable {
    /// The validators with priorities, then the proposer index.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeArray(validators)
        encoder.writeVarint(UInt64(proposerIndex))
    }

    /// Reads what `encode` writes, with the same checks as `init(loading:proposerIndex:)`.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        let start = decoder.offset
        let validators = try decoder.readArray(Validator.self)
        let proposerIndex = try decoder.readVarint()
        // Canonical bytes have one order; a set in another order would hash and index differently.
        guard Self.isCanonicallyOrdered(validators) else {
            throw decoder.invalid("validator set: validators not in canonical order", at: start)
        }
        do {
            try self.init(loading: validators, proposerIndex: Int(clamping: proposerIndex))
        } catch {
            throw decoder.invalid("validator set: \(error.message)", at: start)
        }
    }
}
