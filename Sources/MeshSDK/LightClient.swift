import Foundation
public import MeshAPI
public import MeshConsensus
public import MeshCore
public import MeshLedger

/// Where a light client reads headers (with their commits) and validator sets: a node through
/// `MeshClient`, or anything else that serves the same views. Nothing it serves is trusted.
public protocol LightClientSource: Sendable {
    /// The block at `height` (its canonical header and commit bytes are what is checked).
    func block(_ height: UInt64?) async throws(SDKError) -> BlockView
    /// The validator set deciding `height` (its canonical bytes are what is checked).
    func validators(height: UInt64?) async throws(SDKError) -> ValidatorsView
}

extension MeshClient: LightClientSource {}

/// Verifies a node's answers without trusting the node.
///
/// It keeps a trusted header and the validator set that decides the next height, starting from
/// the genesis file. A newer header is trusted when its commit carries precommits from more than
/// 2/3 of its own validator set (whose hash the header names) and, if the set may have changed
/// since the trusted height, from more than 1/3 of the trusted set's power too; otherwise it
/// bisects (Tendermint's skipping verification, trust level 1/3). A state answer is trusted when
/// every key it was computed from is proven against the app hash in such a header.
///
/// **Trusting period** (CometBFT semantics): a trusted header verifies newer ones only while it is
/// younger than the trusting period, two thirds of the chain's unbonding period by default
/// (counted on BFT time). After that its validators may have unbonded and could sign another
/// history without losing stake, so the client refuses and says so; a header dated more than
/// `clockDriftMs` ahead of the local clock, or not after the trusted one, is refused too.
public final class LightClient {
    /// What the client trusts, saved between runs.
    public struct TrustedState: Codable, Sendable, Equatable {
        /// The chain id.
        public var chainId: String
        /// The trusted header's height (0 = genesis, no header yet).
        public var height: UInt64
        /// Its hash (hex; empty at genesis).
        public var headerHash: String
        /// Canonical bytes (hex) of the validator set that decides `height + 1`.
        public var nextValidators: String
        /// BFT time (ms) of the trusted header; the genesis time at height 0.
        public var timeMs: UInt64
        /// How long (ms) after `timeMs` this state may verify newer headers.
        public var trustingPeriodMs: UInt64

        /// All fields.
        public init(
            chainId: String, height: UInt64, headerHash: String, nextValidators: String, timeMs: UInt64,
            trustingPeriodMs: UInt64
        ) {
            self.chainId = chainId
            self.height = height
            self.headerHash = headerHash
            self.nextValidators = nextValidators
            self.timeMs = timeMs
            self.trustingPeriodMs = trustingPeriodMs
        }
    }

    /// The system clock in ms since 1970.
    @Sendable public static func systemNowMs() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }

    /// How far ahead of the local clock a header's time may be (CometBFT's default, 10 s).
    public static let clockDriftMs: UInt64 = 10_000

    /// Checks it made, for `--verify` output.
    public struct Report: Sendable, Codable {
        /// Headers verified while following the chain to the answer.
        public var headersVerified: Int
        /// The header height whose app hash proves the answer.
        public var provenByHeader: UInt64
        /// Voting power that signed that header, out of the total.
        public var signedPower: UInt64
        /// Sum of the voting power.
        public var totalPower: UInt64
        /// Keys whose proofs were checked.
        public var keysProven: Int
    }

    /// What the client trusts now.
    public private(set) var trusted: TrustedState
    let client: any LightClientSource
    private var trustedSet: ValidatorSet
    private var headers: [UInt64: BlockHeader] = [:]
    private var sets: [UInt64: ValidatorSet] = [:]
    private var verifiedCount = 0
    /// The local clock, in ms since 1970 (tests set their own).
    let now: @Sendable () -> UInt64
    /// Headers walked backwards at most, for an answer older than the trusted header.
    public static let backwardsMax: UInt64 = 10_000

    /// A client that trusts `state`, reading the time from `now` (ms since 1970).
    public init(
        trusting state: TrustedState, client: any LightClientSource,
        now: @escaping @Sendable () -> UInt64 = LightClient.systemNowMs
    ) throws(SDKError) {
        trusted = state
        self.client = client
        self.now = now
        trustedSet = try Self.decodeSet(state.nextValidators)
    }

    /// The trust root from a genesis file: its validators decide height 1.
    public static func genesisState(_ genesis: Genesis) throws(SDKError) -> TrustedState {
        let params = genesis.params
        var powers: [ValidatorUpdate] = []
        for validator in genesis.validators where params.powerReduction > 0 {
            guard let bytes = try? Hex.decode(validator.consensusKey),
                let key = try? Ed25519.PublicKey(rawBytes: bytes)
            else { continue }
            let power = validator.selfBond / params.powerReduction
            if power > 0 { powers.append(ValidatorUpdate(publicKey: key, power: power)) }
        }
        powers.sort { lhs, rhs in lhs.power != rhs.power ? lhs.power > rhs.power : lhs.publicKey < rhs.publicKey }
        let active = Array(powers.prefix(Int(clamping: params.validatorsMax)))
        let set: ValidatorSet
        do { set = try ValidatorSet(active) } catch {
            throw .untrusted("the genesis file has no usable validator set: \(error)")
        }
        let (unbondingMs, overflow) = params.unbondingSeconds.multipliedReportingOverflow(by: 1000)
        return TrustedState(
            chainId: genesis.chainId, height: 0, headerHash: "", nextValidators: Hex.encode(set.canonicalBytes),
            timeMs: genesis.genesisTimeMs ?? 0, trustingPeriodMs: overflow ? .max : unbondingMs / 3 * 2)
    }

    /// Refuses to verify forward from a trusted state older than its trusting period.
    private func checkTrustingPeriod() throws(SDKError) {
        let clock = now()
        let (expiry, overflow) = trusted.timeMs.addingReportingOverflow(trusted.trustingPeriodMs)
        guard overflow || clock < expiry else {
            let age = (clock - trusted.timeMs) / 1000
            throw .untrusted(
                "the trusted state (height \(trusted.height), \(age) s old) is past its trusting period of "
                    + "\(trusted.trustingPeriodMs / 1000) s (two thirds of the unbonding period): the validators "
                    + "that signed it may have unbonded and could sign another history without losing stake. "
                    + "Start again from a trusted header or genesis file obtained recently")
        }
    }

    // MARK: headers

    /// A header at `height`, verified from what the client trusts (and then trusted itself when
    /// newer).
    public func verifiedHeader(at height: UInt64) async throws(SDKError) -> BlockHeader {
        if let header = headers[height] { return header }
        guard height > 0 else { throw .untrusted("there is no header at height 0") }
        if height <= trusted.height { return try await headerBehind(height) }
        try checkTrustingPeriod()
        let (header, commit) = try await fetchHeader(height)
        guard header.timeMs <= now() &+ Self.clockDriftMs else {
            throw .untrusted("header \(height) is dated \(header.timeMs) ms, ahead of this clock by more than 10 s")
        }
        guard trusted.height == 0 || header.timeMs > trusted.timeMs else {
            throw .untrusted("header \(height) is not later than the trusted header \(trusted.height)")
        }
        if height == trusted.height + 1 {
            guard header.validatorsHash == trustedSet.hash else {
                throw .untrusted("header \(height) names validators other than the trusted next set")
            }
            try verifyCommit(commit, header: header, set: trustedSet)
            sets[height] = trustedSet
        } else {
            let set = try await validatorSet(at: height, expectedHash: header.validatorsHash)
            try verifyCommit(commit, header: header, set: set)
            if !trustedSetSigned(commit, set: set) {
                // Too much of the set may have changed since the trusted height: bisect.
                let pivot = trusted.height + (height - trusted.height) / 2
                _ = try await verifiedHeader(at: pivot)
                return try await verifiedHeader(at: height)
            }
        }
        let next = try await validatorSet(at: height + 1, expectedHash: header.nextValidatorsHash)
        trusted = TrustedState(
            chainId: trusted.chainId, height: height, headerHash: header.hash.hex,
            nextValidators: Hex.encode(next.canonicalBytes), timeMs: header.timeMs,
            trustingPeriodMs: trusted.trustingPeriodMs)
        trustedSet = next
        headers[height] = header
        return header
    }

    /// Walks back from the trusted header by `lastBlockID` hashes.
    private func headerBehind(_ height: UInt64) async throws(SDKError) -> BlockHeader {
        if height == trusted.height, let header = headers[height] { return header }
        guard trusted.height - height <= Self.backwardsMax else {
            throw .untrusted(
                "height \(height) is more than \(Self.backwardsMax) blocks behind the trusted height \(trusted.height)")
        }
        var expected = trusted.headerHash
        var current = trusted.height
        while current >= height {
            let (header, _) = try await fetchHeader(current)
            guard header.hash.hex == expected else {
                throw .untrusted("header \(current) does not hash to the hash its successor names")
            }
            headers[current] = header
            if current == height { return header }
            guard let last = header.lastBlockID else { throw .untrusted("header \(current) names no previous block") }
            expected = last.hash.hex
            current -= 1
        }
        throw .untrusted("header \(height) not reached")
    }

    private func fetchHeader(_ height: UInt64) async throws(SDKError) -> (BlockHeader, Commit) {
        let view = try await client.block(height)
        // The JSON fields are for people; the client checks the canonical bytes, whose hash the
        // validators signed.
        let header = try Self.header(from: view)
        let commit = try Self.commit(from: view)
        guard header.height == height, commit.height == height else {
            throw .untrusted("the node sent block \(header.height) for height \(height)")
        }
        verifiedCount += 1
        return (header, commit)
    }

    private func validatorSet(at height: UInt64, expectedHash: Hash256) async throws(SDKError) -> ValidatorSet {
        if let set = sets[height], set.hash == expectedHash { return set }
        let view = try await client.validators(height: height)
        let set = try Self.decodeSet(view.set)
        guard set.hash == expectedHash else {
            throw .untrusted("the validator set the node sent for height \(height) does not match the header's hash")
        }
        sets[height] = set
        return set
    }

    private func verifyCommit(_ commit: Commit, header: BlockHeader, set: ValidatorSet) throws(SDKError) {
        guard header.chainId == trusted.chainId else {
            throw .untrusted("header is for chain \(header.chainId), not \(trusted.chainId)")
        }
        guard commit.blockID.hash == header.hash else {
            throw .untrusted("the commit for height \(header.height) signs another header")
        }
        do {
            try commit.verify(chainId: trusted.chainId, validators: set, height: header.height, blockID: commit.blockID)
        } catch {
            throw .untrusted("commit \(header.height) does not verify: \(error.message)")
        }
    }

    /// Whether validators of the trusted set with more than 1/3 of its power signed `commit`.
    private func trustedSetSigned(_ commit: Commit, set: ValidatorSet) -> Bool {
        var power: UInt64 = 0
        for index in commit.signatures.indices {
            guard let vote = commit.vote(at: index, validators: set), vote.blockID != nil,
                let trustedIndex = trustedSet.index(of: vote.validator),
                vote.hasValidSignature(chainId: trusted.chainId)
            else { continue }
            power += trustedSet.validators[trustedIndex].power
        }
        return trustedSet.isOneThirdPlus(power)
    }

    // MARK: state answers

    /// Verifies a proof bundle: the header of `height + 1` and its commit, then every entry
    /// against that header's app hash. Returns a view that answers only from proven entries.
    public func verify(_ bundle: ProofBundle) async throws(SDKError) -> (view: StateView, report: Report) {
        let headerHeight = bundle.height + 1
        let sentHeader: BlockHeader
        let sentCommit: Commit
        do {
            sentHeader = try BlockHeader(canonicalBytes: try Hex.decode(bundle.header))
            sentCommit = try Commit(canonicalBytes: try Hex.decode(bundle.commit))
        } catch {
            throw .malformedProof("header or commit bytes do not decode: \(error)")
        }
        guard sentHeader.height == headerHeight else {
            throw .untrusted("the proof's header is for height \(sentHeader.height), not \(headerHeight)")
        }
        let header = try await verifiedHeader(at: headerHeight)
        guard header == sentHeader else { throw .untrusted("the proof's header differs from the verified header") }
        var entries: [[UInt8]: [UInt8]?] = [:]
        for entry in bundle.entries {
            let key: [UInt8]
            let value: [UInt8]?
            let proof: StateProof
            do {
                key = try Hex.decode(entry.key)
                value = try entry.value.map { try Hex.decode($0) }
                proof = try StateProof(canonicalBytes: try Hex.decode(entry.proof))
            } catch {
                throw .malformedProof("entry \(entry.key.prefix(16))…: \(error)")
            }
            guard proof.verify(key: key, value: value, root: header.appHash) else { throw .proofMismatch }
            entries[key] = value
        }
        let set = try await validatorSet(at: headerHeight, expectedHash: header.validatorsHash)
        // Reported power counts only valid precommits for this header (the commit that made the
        // header trusted was checked in `verifiedHeader`; this one is only reported).
        let signed = sentCommit.signatures.indices.reduce(UInt64(0)) { sum, index in
            guard let vote = sentCommit.vote(at: index, validators: set), vote.blockID?.hash == header.hash,
                vote.hasValidSignature(chainId: trusted.chainId)
            else { return sum }
            return sum + set.validators[index].power
        }
        return (
            StateView.proven(entries, height: bundle.height),
            Report(
                headersVerified: verifiedCount, provenByHeader: headerHeight, signedPower: signed,
                totalPower: set.totalPower, keysProven: entries.count)
        )
    }

    /// Verifies a proof bundle with no node at all (a credential that carries its own proof): the
    /// header of `height + 1` must be signed by more than 2/3 of `validators` (the set its header
    /// names; canonical bytes in hex) and, unless it is the height right after the trusted one, by
    /// validators holding more than 1/3 of the trusted set's power (Tendermint's skipping rule in
    /// one step: with no node there is no bisection, so a set that changed by two thirds or more
    /// since the trusted state cannot be verified offline); it must be newer than the trusted
    /// header, dated at most 10 s ahead of this clock, inside the trusting period. Then every entry
    /// is checked against the header's app hash. Nothing is remembered.
    public func verifyOffline(
        _ bundle: ProofBundle, validators setHex: String
    ) throws(SDKError) -> (
        view: StateView, report: Report
    ) {
        try checkTrustingPeriod()
        let headerHeight = bundle.height + 1
        let header: BlockHeader
        let commit: Commit
        let set: ValidatorSet
        do {
            header = try BlockHeader(canonicalBytes: try Hex.decode(bundle.header))
            commit = try Commit(canonicalBytes: try Hex.decode(bundle.commit))
        } catch {
            throw .malformedProof("header or commit bytes do not decode: \(error)")
        }
        set = try Self.decodeSet(setHex)
        guard header.height == headerHeight, commit.height == headerHeight else {
            throw .untrusted("the proof's header is for height \(header.height), not \(headerHeight)")
        }
        guard headerHeight > trusted.height else {
            throw .untrusted("the proof is for height \(headerHeight), not after the trusted height \(trusted.height)")
        }
        guard header.timeMs <= now() &+ Self.clockDriftMs else {
            throw .untrusted("header \(headerHeight) is dated ahead of this clock by more than 10 s")
        }
        guard trusted.height == 0 || header.timeMs > trusted.timeMs else {
            throw .untrusted("header \(headerHeight) is not later than the trusted header \(trusted.height)")
        }
        guard set.hash == header.validatorsHash else {
            throw .untrusted("the validator set does not match the header's validators hash")
        }
        try verifyCommit(commit, header: header, set: set)
        if headerHeight == trusted.height + 1 {
            guard set.hash == trustedSet.hash else {
                throw .untrusted("header \(headerHeight) names validators other than the trusted next set")
            }
        } else {
            guard trustedSetSigned(commit, set: set) else {
                throw .untrusted(
                    "validators with more than 1/3 of the trusted power did not sign header \(headerHeight); "
                        + "verify online (the set changed too much to skip to it offline)")
            }
        }
        var entries: [[UInt8]: [UInt8]?] = [:]
        for entry in bundle.entries {
            let key: [UInt8]
            let value: [UInt8]?
            let proof: StateProof
            do {
                key = try Hex.decode(entry.key)
                value = try entry.value.map { try Hex.decode($0) }
                proof = try StateProof(canonicalBytes: try Hex.decode(entry.proof))
            } catch {
                throw .malformedProof("entry \(entry.key.prefix(16))…: \(error)")
            }
            guard proof.verify(key: key, value: value, root: header.appHash) else { throw .proofMismatch }
            entries[key] = value
        }
        let signed = commit.signatures.indices.reduce(UInt64(0)) { sum, index in
            guard let vote = commit.vote(at: index, validators: set), vote.blockID?.hash == header.hash,
                vote.hasValidSignature(chainId: trusted.chainId)
            else { return sum }
            return sum + set.validators[index].power
        }
        return (
            StateView.proven(entries, height: bundle.height),
            Report(
                headersVerified: 1, provenByHeader: headerHeight, signedPower: signed, totalPower: set.totalPower,
                keysProven: entries.count)
        )
    }

    // MARK: single answers

    /// The value a raw ledger query returned, once its proof checks out against `appHash` (which
    /// the caller trusts already); nil means the key is proven absent.
    public static func verifiedValue(of response: QueryResponse, appHash: Hash256) throws(SDKError) -> [UInt8]? {
        guard response.code == 0 else {
            throw .queryFailed("\(response.module)/\(response.code): \(response.message)")
        }
        guard let proofBytes = response.proof else { throw .noProof }
        let proof: StateProof
        do { proof = try StateProof(canonicalBytes: proofBytes) } catch { throw .malformedProof(error.message) }
        guard proof.verify(key: response.key, value: response.value, root: appHash) else { throw .proofMismatch }
        return response.value
    }

    /// Like `verifiedValue(of:appHash:)`, after checking that the answer is about `key`.
    public static func verifiedValue(
        of response: QueryResponse, key: [UInt8], appHash: Hash256
    ) throws(SDKError) -> [UInt8]? {
        guard response.key == key else { throw .proofMismatch }
        return try verifiedValue(of: response, appHash: appHash)
    }

    // MARK: decoding

    static func decodeSet(_ hex: String) throws(SDKError) -> ValidatorSet {
        do { return try ValidatorSet(canonicalBytes: try Hex.decode(hex)) } catch {
            throw .malformedProof("validator set bytes do not decode: \(error)")
        }
    }

    static func header(from view: BlockView) throws(SDKError) -> BlockHeader {
        do { return try BlockHeader(canonicalBytes: try Hex.decode(view.headerBytes)) } catch {
            throw .badResponse("block \(view.header.height): header bytes do not decode")
        }
    }

    static func commit(from view: BlockView) throws(SDKError) -> Commit {
        do {
            return try Commit(canonicalBytes: try Hex.decode(view.commitBytes))
        } catch {
            throw .badResponse("block \(view.header.height): commit bytes do not decode")
        }
    }
}

/// Failures of the SDK. Module `sdk`.
public enum SDKError: MeshError, Equatable {
    /// The node sent no proof.
    case noProof
    /// The proof, header, commit or validator-set bytes do not decode.
    case malformedProof(String)
    /// The proof does not tie the value (or its absence) to the app hash.
    case proofMismatch
    /// The node answered a query with an error.
    case queryFailed(String)
    /// A header, commit or validator set could not be verified from what the client trusts.
    case untrusted(String)
    /// The node URL is not an http(s) URL.
    case badURL(String)
    /// The node could not be reached.
    case unreachable(String, String)
    /// The node answered with an error body.
    case node(APIErrorBody)
    /// The node's answer is not what the API documents.
    case badResponse(String)
    /// A provenance proof does not hold: its parts disagree, or the chain does not back it.
    case notProven(String)
    /// A storage put, get or placement cannot go on (too few providers, shards unreachable).
    case storage(String)

    /// `sdk`, or the node's module for `node`.
    public var module: String {
        if case .node(let body) = self { return String(body.code.split(separator: "/").first ?? "api") }
        return "sdk"
    }

    /// Stable codes; see `Sources/MeshSDK/README.md`.
    public var code: UInt32 {
        switch self {
        case .noProof: 1
        case .malformedProof: 2
        case .proofMismatch: 3
        case .queryFailed: 4
        case .untrusted: 5
        case .badURL: 6
        case .unreachable: 7
        case .node(let body): UInt32(body.code.split(separator: "/").last ?? "0") ?? 0
        case .badResponse: 8
        case .notProven: 9
        case .storage: 10
        }
    }

    /// One sentence.
    public var message: String {
        switch self {
        case .noProof: "the node sent no proof"
        case .malformedProof(let detail): "the proof does not decode: \(detail)"
        case .proofMismatch: "the proof does not match the trusted app hash: the answer is not proven"
        case .queryFailed(let detail): "the query failed: \(detail)"
        case .untrusted(let detail): "cannot verify the chain: \(detail)"
        case .badURL(let url): "'\(url)' is not an http:// or https:// URL"
        case .unreachable(let base, let detail): "cannot reach the node at \(base): \(detail)"
        case .node(let body): body.message
        case .badResponse(let detail): "the node's answer is malformed: \(detail)"
        case .notProven(let detail): detail
        case .storage(let detail): detail
        }
    }
}
