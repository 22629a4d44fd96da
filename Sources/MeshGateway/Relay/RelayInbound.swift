import MeshP2P
import NIOConcurrencyHelpers

/// Relayed messages on their way to delivery: the gateway's cache of relay decisions
/// ((publisher, topic) for the current authorization epoch) and, per peer, the messages waiting
/// behind one that needs the ledger, so that a peer's messages are delivered in the order sent.
final class RelayInbound: Sendable {
    /// Messages of one peer that may wait for authorization, and their payload bytes; more are
    /// dropped.
    static let waitingPerPeerMax = 10_000
    static let waitingBytesPerPeerMax = 64 << 20
    /// Cached decisions before the cache is cleared.
    static let decisionsMax = 50_000

    enum Offer: Equatable {
        /// Allowed by a cached decision and nothing waits before it: deliver now.
        case deliver
        /// Refused by a cached decision.
        case denied
        /// Waits behind earlier messages of its peer.
        case queued
        /// The first to wait: the caller starts draining the peer's queue.
        case startDraining
        /// The peer already has `waitingPerPeerMax` waiting.
        case dropped
    }

    private struct State {
        var cache = AuthorizationCache(entriesMax: RelayInbound.decisionsMax)
        var waiting: [NodeID: Waiting] = [:]
    }

    private let state = NIOLockedValueBox(State())

    func offer(_ message: GatewayMessage, from peer: NodeID, cacheKey: String, epoch: UInt64, height: UInt64) -> Offer {
        state.withLockedValue { state in
            if state.waiting[peer] != nil {
                guard state.waiting[peer]!.count < Self.waitingPerPeerMax,
                    state.waiting[peer]!.bytes + message.payload.count <= Self.waitingBytesPerPeerMax
                else { return .dropped }
                state.waiting[peer]!.push((message, cacheKey))
                return .queued
            }
            if let allowed = state.cache.lookup(cacheKey, epoch: epoch, height: height) {
                return allowed ? .deliver : .denied
            }
            var queue = Waiting()
            queue.push((message, cacheKey))
            state.waiting[peer] = queue
            return .startDraining
        }
    }

    /// The next waiting message of `peer`; nil (and the peer's queue gone) when none is left.
    func next(from peer: NodeID) -> (GatewayMessage, String)? {
        state.withLockedValue { state in
            guard let first = state.waiting[peer]?.pop() else {
                state.waiting[peer] = nil
                return nil
            }
            return first
        }
    }

    /// Forgets what `peer` queued (it left, or is no longer trusted); a drain running for it ends.
    func drop(_ peer: NodeID) { state.withLockedValue { $0.waiting[peer] = nil } }

    /// The cached decision for `key`, if any.
    func lookup(_ key: String, epoch: UInt64, height: UInt64) -> Bool? {
        state.withLockedValue { $0.cache.lookup(key, epoch: epoch, height: height) }
    }

    func store(_ key: String, _ decision: GatewayDecision, epoch: UInt64) {
        state.withLockedValue { $0.cache.store(key, decision, epoch: epoch) }
    }
}

/// A FIFO without shifting: a read index into an array, compacted once half is read.
private struct Waiting {
    private var items: [(GatewayMessage, String)] = []
    private var head = 0

    private(set) var bytes = 0

    var count: Int { items.count - head }

    mutating func push(_ item: (GatewayMessage, String)) {
        items.append(item)
        bytes += item.0.payload.count
    }

    mutating func pop() -> (GatewayMessage, String)? {
        guard head < items.count else { return nil }
        let item = items[head]
        head += 1
        bytes -= item.0.payload.count
        if head > 64, head * 2 >= items.count {
            items.removeFirst(head)
            head = 0
        }
        return item
    }
}
