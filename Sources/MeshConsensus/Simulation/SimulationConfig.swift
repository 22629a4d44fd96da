/// One simulated run: how many validators, how many of them lie, and how hostile the network
/// is. Rates are in per-mille so that no floating point touches the run.
public struct SimulationConfig: Sendable, Hashable {
    /// The seed; the whole run follows from it.
    public var seed: UInt64
    /// Validators (3f+1 for f byzantine).
    public var validators: Int = 4
    /// Byzantine validators, at most (validators − 1) / 3.
    public var byzantine: Int = 1
    /// Simulated time with faults: loss, partitions, crashes.
    public var chaosMs: UInt64 = 20_000
    /// Simulated time after the heal within which every honest node must commit `progressBlocks` more.
    public var healMs: UInt64 = 60_000
    /// Blocks each honest node must commit after the heal.
    public var progressBlocks: UInt64 = 3
    /// Message loss during chaos, per mille.
    public var lossPerMilleMax: UInt64 = 300
    /// Duplicated messages, per mille.
    public var duplicatePerMille: UInt64 = 50
    /// Delivery delay bounds (reordering comes from the spread).
    public var delayMinMs: UInt64 = 1
    /// Upper delay bound.
    public var delayMaxMs: UInt64 = 150
    /// Mean gap between injected faults.
    public var faultIntervalMs: UInt64 = 1500
    /// Consensus timeouts, shorter than a real network's.
    public var consensus: ConsensusConfig

    /// A run with the default hostility.
    public init(seed: UInt64) {
        self.seed = seed
        var consensus = ConsensusConfig()
        consensus.timeoutProposeMs = 300
        consensus.timeoutProposeDeltaMs = 100
        consensus.timeoutPrevoteMs = 200
        consensus.timeoutPrevoteDeltaMs = 100
        consensus.timeoutPrecommitMs = 200
        consensus.timeoutPrecommitDeltaMs = 100
        consensus.timeoutCommitMs = 50
        consensus.gossipIntervalMs = 100
        self.consensus = consensus
    }

    /// The command line that replays this run.
    public var replayCommand: String {
        "swift run meshwork-sim --seed \(seed) --validators \(validators) --byzantine \(byzantine)"
            + " --chaos-ms \(chaosMs) --heal-ms \(healMs)"
    }
}

/// What a run saw.
public struct SimulationReport: Sendable {
    /// The configuration.
    public var config: SimulationConfig
    /// Lowest committed height among honest nodes at the end.
    public var honestHeightMin: UInt64
    /// Highest committed height at the heal.
    public var heightAtHeal: UInt64
    /// Messages delivered.
    public var messagesDelivered: Int
    /// Crashes (including mid-write ones).
    public var crashes: Int
    /// Double votes and double proposals the byzantine nodes sent.
    public var equivocations: Int
    /// Evidence committed in blocks.
    public var evidenceCommitted: Int
    /// Simulated time at the end.
    public var endTimeMs: UInt64
}

/// A broken property: the run, the time, what broke, and how to replay it.
public struct SimulationFailure: Error, CustomStringConvertible {
    /// The run.
    public var config: SimulationConfig
    /// Simulated time of the failure.
    public var timeMs: UInt64
    /// What broke.
    public var reason: String

    /// The reason and the replay line.
    public var description: String {
        "seed \(config.seed) failed at \(timeMs) ms: \(reason)\n  replay: \(config.replayCommand)"
    }
}
