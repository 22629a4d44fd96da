public import MeshCore

/// Failures of oracle messages. Module `oracle`; see `Modules/Oracle/README.md`.
public enum OracleError: MeshError, Equatable {
    /// A feed's terms are out of range.
    case badFeed(String)
    /// A feed with this id exists.
    case feedExists(String)
    /// No feed has this id.
    case feedNotFound(String)
    /// The observation's reporter is neither listed on the feed nor granted `oracle.report` on it.
    case notReporter(feed: String, reporter: String)
    /// The observation's key is not a current key of its reporter, or its signature does not verify.
    case badSignature(feed: String, reporter: String)
    /// The observation's time is more than 30 s from the block's BFT time.
    case timeSkew(timeMs: UInt64, blockTimeMs: UInt64)
    /// The reporter already reported this feed at this or a later time.
    case replayed(feed: String, reporter: String, timeMs: UInt64)
    /// The report holds no observation or more than 512, or the feed has 256 waiting already.
    case badReport(String)
    /// A bond or unbond amount is out of range.
    case badBond(String)
    /// A reporter with misses in a row cannot unbond until it reports in band again.
    case unbondWhileMissing(feed: String, misses: UInt64)

    /// `oracle`.
    public var module: String { "oracle" }

    /// Stable codes.
    public var code: UInt32 {
        switch self {
        case .badFeed: 1
        case .feedExists: 2
        case .feedNotFound: 3
        case .notReporter: 4
        case .badSignature: 5
        case .timeSkew: 6
        case .replayed: 7
        case .badReport: 8
        case .badBond: 9
        case .unbondWhileMissing: 10
        }
    }

    /// One sentence.
    public var message: String {
        switch self {
        case .badFeed(let why): "bad feed: \(why)"
        case .feedExists(let id): "feed '\(id)' exists"
        case .feedNotFound(let id): "no feed '\(id)'"
        case .notReporter(let feed, let reporter): "\(reporter) is not a reporter of feed '\(feed)'"
        case .badSignature(let feed, let reporter):
            "the observation for '\(feed)' is not signed by a current key of \(reporter)"
        case .timeSkew(let timeMs, let blockTimeMs):
            "the observation's time \(timeMs) is more than 30 s from the block's time \(blockTimeMs)"
        case .replayed(let feed, let reporter, let timeMs):
            "\(reporter) already reported '\(feed)' at \(timeMs) or later"
        case .badReport(let why): "bad report: \(why)"
        case .badBond(let why): "bad bond: \(why)"
        case .unbondWhileMissing(let feed, let misses):
            "the reporter missed \(misses) rounds of '\(feed)' in a row; it may unbond after one in band"
        }
    }
}
