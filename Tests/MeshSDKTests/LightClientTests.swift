import MeshAPI
import MeshConsensus
import MeshCore
import MeshLedger
import Testing

@testable import MeshSDK

/// A chain the test builds and signs itself, served to the light client as a node would serve
/// it. What is served is real canonical bytes; only the source is in memory.
struct SignedChain: LightClientSource {
    var chainId: String
    var views: [UInt64: BlockView] = [:]
    var sets: [UInt64: ValidatorSet] = [:]

    /// `height` blocks; the set deciding height h is `setAt(h)` (signed by `keys`).
    init(
        chainId: String = "light-test", height: UInt64, keys: [Ed25519.PrivateKey],
        setAt: (UInt64) -> ValidatorSet, signers: (UInt64, ValidatorSet) -> [Int]? = { _, _ in nil }
    ) {
        self.chainId = chainId
        var last: BlockID? = nil
        for h in 1...height + 1 { sets[h] = setAt(h) }
        for h in 1...height {
            guard let set = sets[h], let next = sets[h + 1] else { preconditionFailure("sets for every height") }
            let header = BlockHeader(
                chainId: chainId, height: h, timeMs: 1_000 * h, lastBlockID: last, lastCommitHash: .zero,
                dataHash: .zero, validatorsHash: set.hash, nextValidatorsHash: next.hash,
                appHash: Hash256.sha256(Array("app-\(h)".utf8)), evidenceHash: .zero,
                proposer: set.validators[0].publicKey)
            let blockID = BlockID(
                hash: header.hash, parts: PartSetHeader(total: 1, root: Hash256.sha256(header.canonicalBytes)))
            let signing = signers(h, set) ?? Array(set.validators.indices)
            let signatures: [CommitSignature] = set.validators.indices.map { index in
                let validator = set.validators[index].publicKey
                guard signing.contains(index), let key = keys.first(where: { $0.publicKey == validator }) else {
                    return .absent
                }
                var vote = Vote(
                    kind: .precommit, height: h, round: 0, blockID: blockID, timeMs: 1_000 * h + 1,
                    validatorIndex: UInt32(index), validator: validator, signature: key.sign([], domain: .vote))
                vote.signature = key.sign(vote.signBytes(chainId: chainId), domain: .vote)
                return .forBlock(timeMs: vote.timeMs, signature: vote.signature)
            }
            let commit = Commit(height: h, round: 0, blockID: blockID, signatures: signatures)
            let block = Block(header: header, transactions: [], lastCommit: nil, evidence: [])
            views[h] = BlockView(block: block, blockID: blockID, commit: commit, results: nil)
            last = blockID
        }
    }

    func block(_ height: UInt64?) async throws(SDKError) -> BlockView {
        guard let height, let view = views[height] else { throw .badResponse("no block \(height ?? 0) here") }
        return view
    }

    func validators(height: UInt64?) async throws(SDKError) -> ValidatorsView {
        guard let height, let set = sets[height] else { throw .badResponse("no set for \(height ?? 0) here") }
        return ValidatorsView(
            height: height, hash: set.hash.hex, totalPower: set.totalPower, validators: [],
            set: Hex.encode(set.canonicalBytes))
    }

    /// What a light client trusts at genesis (time 0 here): the set deciding height 1, with a
    /// trusting period of `trustingPeriodMs`.
    func genesisTrust(trustingPeriodMs: UInt64 = 1_000_000) -> LightClient.TrustedState {
        guard let set = sets[1] else { preconditionFailure("a first set") }
        return LightClient.TrustedState(
            chainId: chainId, height: 0, headerHash: "", nextValidators: Hex.encode(set.canonicalBytes), timeMs: 0,
            trustingPeriodMs: trustingPeriodMs)
    }
}

@Suite struct LightClientTests {
    static func keys(_ count: Int, from start: UInt8 = 0) -> [Ed25519.PrivateKey] {
        (0..<count).map { index in
            var seed = [UInt8](repeating: 0, count: 32)
            seed[0] = start + UInt8(index)
            seed[31] = 0x5D
            guard let key = try? Ed25519.PrivateKey(seed: seed) else { preconditionFailure("a fixed seed is a key") }
            return key
        }
    }

    static func set(_ keys: [Ed25519.PrivateKey]) -> ValidatorSet {
        guard let set = try? ValidatorSet(keys.map { ValidatorUpdate(publicKey: $0.publicKey, power: 10) }) else {
            preconditionFailure("a valid set")
        }
        return set
    }

    @Test func followsAnHonestChainToAnyHeight() async throws {
        let keys = Self.keys(4)
        let chain = SignedChain(height: 8, keys: keys) { _ in Self.set(keys) }
        let light = try LightClient(trusting: chain.genesisTrust(), client: chain, now: { 10_000 })
        let header = try await light.verifiedHeader(at: 8)
        #expect(header.height == 8 && light.trusted.height == 8)
        #expect(try await light.verifiedHeader(at: 3).height == 3, "older headers by their hash links")
    }

    @Test func refusesACommitWithWrongSignatures() async throws {
        let keys = Self.keys(4)
        let impostors = Self.keys(4, from: 100)
        // The header names the real set, but the signatures come from other keys.
        var chain = SignedChain(height: 2, keys: keys) { _ in Self.set(keys) }
        let forged = SignedChain(height: 2, keys: impostors) { _ in Self.set(keys) }
        chain.views[2] = forged.views[2]
        let light = try LightClient(trusting: chain.genesisTrust(), client: chain, now: { 10_000 })
        _ = try await light.verifiedHeader(at: 1)
        await #expect(throws: SDKError.self) { _ = try await light.verifiedHeader(at: 2) }
        #expect(light.trusted.height == 1, "nothing forged is trusted")
    }

    @Test func refusesACommitWithTooLittlePower() async throws {
        let keys = Self.keys(4)
        // Two of four equal validators sign block 3: half the power, not more than two thirds.
        let chain = SignedChain(height: 3, keys: keys, setAt: { _ in Self.set(keys) }) { height, _ in
            height == 3 ? [0, 1] : nil
        }
        let light = try LightClient(trusting: chain.genesisTrust(), client: chain, now: { 10_000 })
        _ = try await light.verifiedHeader(at: 2)
        await #expect(throws: SDKError.self) { _ = try await light.verifiedHeader(at: 3) }
        let three = SignedChain(height: 3, keys: keys, setAt: { _ in Self.set(keys) }) { height, _ in
            height == 3 ? [0, 1, 2] : nil
        }
        let enough = try LightClient(trusting: three.genesisTrust(), client: three, now: { 10_000 })
        #expect(try await enough.verifiedHeader(at: 3).height == 3, "three of four is enough")
    }

    @Test func followsAValidatorSetThatChangesCompletely() async throws {
        let first = Self.keys(4)
        let second = Self.keys(4, from: 50)
        // Heights 1-3 are decided by the first set, 4 and later by a second one sharing no key.
        let chain = SignedChain(height: 9, keys: first + second) { height in Self.set(height <= 3 ? first : second) }
        let light = try LightClient(trusting: chain.genesisTrust(), client: chain, now: { 10_000 })
        let header = try await light.verifiedHeader(at: 9)
        #expect(header.validatorsHash == Self.set(second).hash)
        #expect(light.trusted.height == 9)
    }

    @Test func refusesAnUnlinkedSetChange() async throws {
        let first = Self.keys(4)
        let strangers = Self.keys(4, from: 200)
        // A node serves a chain where strangers decide height 5 though block 4 named the first set
        // as next: each header verifies on its own, but not from what the client trusts.
        var chain = SignedChain(height: 6, keys: first) { _ in Self.set(first) }
        let takeover = SignedChain(height: 6, keys: strangers) { _ in Self.set(strangers) }
        chain.views[5] = takeover.views[5]
        chain.views[6] = takeover.views[6]
        chain.sets[6] = takeover.sets[6]
        chain.sets[7] = takeover.sets[7]
        let light = try LightClient(trusting: chain.genesisTrust(), client: chain, now: { 10_000 })
        _ = try await light.verifiedHeader(at: 4)
        await #expect(throws: SDKError.self) { _ = try await light.verifiedHeader(at: 6) }
        #expect(light.trusted.height == 4)
    }

    @Test func refusesAHeaderFromAnotherChain() async throws {
        let keys = Self.keys(4)
        let ours = SignedChain(chainId: "ours", height: 2, keys: keys) { _ in Self.set(keys) }
        let theirs = SignedChain(chainId: "theirs", height: 2, keys: keys) { _ in Self.set(keys) }
        // The same validators sign both chains; the client trusts "ours" and is served "theirs".
        let light = try LightClient(trusting: ours.genesisTrust(), client: theirs, now: { 10_000 })
        await #expect(throws: SDKError.self) { _ = try await light.verifiedHeader(at: 2) }
        #expect(light.trusted.height == 0)
    }

    @Test func refusesAValidatorSetThatDoesNotMatchTheHeader() async throws {
        let keys = Self.keys(4)
        var chain = SignedChain(height: 5, keys: keys) { _ in Self.set(keys) }
        chain.sets[5] = Self.set(Self.keys(4, from: 77))
        let light = try LightClient(trusting: chain.genesisTrust(), client: chain, now: { 10_000 })
        await #expect(throws: SDKError.self) { _ = try await light.verifiedHeader(at: 5) }
    }

    /// A clock the test moves.
    final class Clock: @unchecked Sendable {
        var ms: UInt64
        init(_ ms: UInt64) { self.ms = ms }
    }

    /// CometBFT's trusting period: a trusted state verifies newer headers only while younger than
    /// its period, each newly trusted header starts it again, and the refusal says why.
    @Test func aTrustedStatePastItsTrustingPeriodIsRefusedWithTheReason() async throws {
        let keys = Self.keys(4)
        let chain = SignedChain(height: 10, keys: keys) { _ in Self.set(keys) }
        let clock = Clock(999_999)  // genesis is at 0, the period 1,000,000 ms: just inside
        let light = try LightClient(
            trusting: chain.genesisTrust(trustingPeriodMs: 1_000_000), client: chain, now: { clock.ms })
        #expect(try await light.verifiedHeader(at: 4).height == 4)
        #expect(light.trusted.timeMs == 4_000, "the trusted time is the header's")
        clock.ms = 1_003_999  // 999,999 ms after header 4: still inside
        #expect(try await light.verifiedHeader(at: 6).height == 6)
        clock.ms = 1_006_000  // exactly the period after header 6: outside
        do {
            _ = try await light.verifiedHeader(at: 8)
            Issue.record("a state past its trusting period verified a newer header")
        } catch {
            #expect("\(error)".contains("past its trusting period of 1000 s"), "\(error)")
        }
        #expect(light.trusted.height == 6)
        // Older headers are still reached through hash links from the trusted one.
        #expect(try await light.verifiedHeader(at: 5).height == 5)
    }

    @Test func aHeaderFromTheFutureIsRefused() async throws {
        let keys = Self.keys(4)
        let chain = SignedChain(height: 12, keys: keys) { _ in Self.set(keys) }
        // Header 12 is at 12,000 ms; a clock at 1,000 ms allows up to 11,000.
        let light = try LightClient(trusting: chain.genesisTrust(), client: chain, now: { 1_000 })
        #expect(try await light.verifiedHeader(at: 11).height == 11, "at the drift bound")
        do {
            _ = try await light.verifiedHeader(at: 12)
            Issue.record("a header 11 s ahead of the clock was trusted")
        } catch {
            #expect("\(error)".contains("ahead of this clock"), "\(error)")
        }
    }

    @Test func theGenesisStateTakesTwoThirdsOfTheUnbondingPeriod() throws {
        var params = LedgerParams()
        params.unbondingSeconds = 300
        let key = Self.keys(1)[0]
        let genesis = Genesis(
            chainId: "g", params: params, accounts: [],
            validators: [
                Genesis.GenesisValidator(
                    operatorDID: .key(key.publicKey), consensusKey: key.publicKey, moniker: "v", selfBond: 10_000_000)
            ], genesisTimeMs: 123)
        let state = try LightClient.genesisState(genesis)
        #expect(state.timeMs == 123 && state.trustingPeriodMs == 200_000)
    }
}
