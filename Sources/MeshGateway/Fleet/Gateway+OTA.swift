public import MeshCore
public import MeshLedger
import NIOConcurrencyHelpers

/// Firmware rollouts over MQTT: the node publishes each asked device's job, retained, on
/// `$mesh/ota/<did>/job` (only the device itself may subscribe to it); the device answers with a
/// signed install receipt on `$mesh/ota/<did>/status`, which the gateway checks (its own topic, a
/// current key, a valid signature) and hands to the node, which batches receipts into `ota.report`.
/// See `README.md`, "Firmware rollouts".
extension Gateway {
    /// Jobs and receipts live under this prefix, then the device's DID.
    public static let otaTopicPrefix = "$mesh/ota/"

    /// The retained job topic of `device`.
    public static func otaJobTopic(_ device: String) -> String { otaTopicPrefix + device + "/job" }

    /// The DID a `$mesh/ota/<did>/status` topic names (nil for any other topic; `.some(nil)` for
    /// another `$mesh/ota/…` topic, which nobody publishes to).
    static func otaStatusDevice(topic: String) -> String?? {
        guard topic.hasPrefix(otaTopicPrefix) else { return nil }
        let rest = topic.dropFirst(otaTopicPrefix.count)
        guard rest.hasSuffix("/status") else { return .some(nil) }
        let did = String(rest.dropLast("/status".count))
        guard !did.isEmpty, !did.contains("/") else { return .some(nil) }
        return .some(did)
    }

    /// Whether `did` may subscribe to `filter` when the filter is under `$mesh/ota/` (nil: not an
    /// OTA filter, the ledger decides): only its own job topic, exactly.
    static func otaSubscription(_ filter: String, did: String) -> Bool? {
        guard filter.hasPrefix(otaTopicPrefix) else { return nil }
        return filter == otaJobTopic(did)
    }

    /// Checks a receipt published by `did` and hands it to the node's sink; why not otherwise.
    func takeReceipt(_ receipt: InstallReceipt, did: String) async -> Result<Void, PublishRefusal> {
        guard receipt.device.description == did else {
            return .failure(PublishRefusal(text: "a receipt is published by its device (\(receipt.device))"))
        }
        guard let sink = receiptSinkBox.withLockedValue({ $0 }) else {
            return .failure(PublishRefusal(text: "this node does not take install receipts"))
        }
        guard receipt.hasValidSignature(chainId: ledger.chainId) else {
            return .failure(PublishRefusal(text: "the receipt's signature does not verify"))
        }
        switch await ledger.identity(of: receipt.device) {
        case .unavailable:
            return .failure(PublishRefusal(text: "the ledger cannot be read now; publish again"))
        case .active(let keys):
            guard keys.contains(receipt.key) else {
                return .failure(PublishRefusal(text: "the receipt's key is not a current key of \(did)"))
            }
        default:
            return .failure(PublishRefusal(text: "\(did) is not an active device"))
        }
        sink.take(receipt)
        countersBox.withLockedValue { $0.receipts += 1 }
        return .success(())
    }

    /// Where accepted receipts go (the node's batcher).
    public func setReceiptSink(_ sink: ReceiptSink) { receiptSinkBox.withLockedValue { $0 = sink } }

    /// Sets `device`'s firmware job (JSON), or clears it with nil: kept by this node for the exact
    /// job topic and sent to the device when it subscribes (as a retained message) or at once if it
    /// is subscribed. Every node sets the same jobs from its own copy of the ledger: nothing is
    /// relayed.
    /// False when the job could not be held (`Broker.systemRetainedMax` jobs are held already).
    @discardableResult
    public func setFirmwareJob(device: String, payload: [UInt8]?) -> Bool {
        broker.setSystemRetained(topic: Self.otaJobTopic(device), payload: payload ?? []) || payload == nil
    }

    /// Firmware jobs held.
    public var firmwareJobCount: Int { broker.systemRetainedCount }
}

/// Takes the install receipts a gateway accepted.
public final class ReceiptSink: Sendable {
    let take: @Sendable (InstallReceipt) -> Void

    /// A sink calling `take` for each receipt (keep it cheap: it runs on the connection's task).
    public init(_ take: @escaping @Sendable (InstallReceipt) -> Void) { self.take = take }
}
