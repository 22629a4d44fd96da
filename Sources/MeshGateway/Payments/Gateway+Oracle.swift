public import MeshCore
public import MeshLedger
import NIOConcurrencyHelpers

/// Data feeds over MQTT: a reporter device publishes its signed observation to
/// `$mesh/oracle/<feed>`; the gateway checks it (the device's own, signed by a current key,
/// a reporter of the feed, newer than its last) and hands it to the node, which batches each
/// block's observations into one `oracle.report` transaction. See `README.md`, "Data feeds".
extension Gateway {
    /// Observations are published to this prefix followed by the feed id.
    public static let oracleTopicPrefix = "$mesh/oracle/"

    /// The feed a `$mesh/oracle/<feed>` topic names (nil for any other topic; `.some(nil)` for a
    /// malformed one).
    static func oracleFeed(topic: String) -> String?? {
        guard topic.hasPrefix(oracleTopicPrefix) else { return nil }
        let feed = String(topic.dropFirst(oracleTopicPrefix.count))
        guard !feed.isEmpty, feed.utf8.count <= OracleRules.feedIDBytesMax, !feed.contains("/") else {
            return .some(nil)
        }
        return .some(feed)
    }

    /// Checks an observation published by `did` and hands it to the node's sink; why not otherwise.
    func takeObservation(_ observation: Observation, did: String) async -> Result<Void, PublishRefusal> {
        guard observation.reporter.description == did else {
            return .failure(
                PublishRefusal(text: "an observation is published by its reporter (\(observation.reporter))"))
        }
        guard let sink = observationSinkBox.withLockedValue({ $0 }) else {
            return .failure(PublishRefusal(text: "this node does not take observations"))
        }
        let nowMs = UInt64(max(0, Broker.nowMs()))
        let skew = observation.timeMs > nowMs ? observation.timeMs - nowMs : nowMs - observation.timeMs
        guard skew <= OracleRules.skewMsMax else {
            return .failure(
                PublishRefusal(text: "the observation's time is \(skew) ms from this node's clock (30 s at most)"))
        }
        guard observation.hasValidSignature(chainId: ledger.chainId) else {
            return .failure(PublishRefusal(text: "the observation's signature does not verify"))
        }
        switch await ledger.reporterKeys(observation.reporter, feed: observation.feed) {
        case .unavailable:
            return .failure(PublishRefusal(text: "the ledger cannot be read now; publish again"))
        case .refused(let why):
            return .failure(PublishRefusal(text: why))
        case .allowed(let keys):
            guard keys.contains(observation.key) else {
                return .failure(PublishRefusal(text: "the observation's key is not a current key of \(did)"))
            }
        }
        let fresh = lastObservations.withLockedValue { seen -> Bool in
            let key = observation.feed + " " + did
            guard observation.timeMs > seen[key, default: 0] else { return false }
            if seen.count >= 100_000 { seen.removeAll() }
            seen[key] = observation.timeMs
            return true
        }
        guard fresh else { return .failure(PublishRefusal(text: "an observation at this time or later was taken")) }
        sink.take(observation)
        countersBox.withLockedValue { $0.observations += 1 }
        return .success(())
    }

    /// Where accepted observations go (the node's batcher).
    public func setObservationSink(_ sink: ObservationSink) { observationSinkBox.withLockedValue { $0 = sink } }
}

/// Takes the observations a gateway accepted.
public final class ObservationSink: Sendable {
    let take: @Sendable (Observation) -> Void

    /// A sink calling `take` for each observation (keep it cheap: it runs on the connection's task).
    public init(_ take: @escaping @Sendable (Observation) -> Void) { self.take = take }
}

/// What the ledger says of a reporter for a feed.
public enum ReporterStanding: Sendable, Equatable {
    /// It may report; these are its current keys.
    case allowed([Ed25519.PublicKey])
    /// It may not (no such feed, not a reporter, deactivated).
    case refused(String)
    /// The ledger cannot be read.
    case unavailable
}
