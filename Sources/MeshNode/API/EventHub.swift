import Foundation
import MeshGateway
import NIOConcurrencyHelpers

/// Fans committed blocks and transactions out to WebSocket subscribers.
///
/// Each event is encoded once; each connection gets a bounded queue. A connection whose queue
/// is full is closed with a reason instead of silently losing events, so a client that sees its
/// stream end knows to reconnect and catch up from `/blocks`.
public final class EventHub: Sendable {
    /// What a connection asked for.
    public enum Filter: Sendable, Equatable {
        /// Every new block.
        case blocks
        /// Transactions, all or those with a message of `type` or touching `did`.
        case transactions(type: String?, did: String?)
        /// Gateway messages published by `did` on topics matching `filter`, for `reader` (the
        /// DID whose token authorized it) until its token expires (Unix seconds).
        case telemetry(did: String, filter: String, reader: String, untilSeconds: Int64)
    }

    /// One published event.
    struct Event: Sendable {
        enum Kind: Sendable {
            case block
            case transaction(types: Set<String>, dids: Set<String>)
            case telemetry(did: String, topic: String)
        }
        var kind: Kind
        var text: String
    }

    /// Why a stream ended.
    enum Ending: Error {
        case tooSlow
    }

    private struct Subscriber {
        var continuation: AsyncThrowingStream<String, any Error>.Continuation
        var filters: [Int: Filter] = [:]
    }

    private let state = NIOLockedValueBox<(next: Int, subscribers: [Int: Subscriber])>((1, [:]))
    /// Messages queued per connection before it is closed as too slow.
    static let queueMax = 1024
    let metrics: NodeMetrics?

    init(metrics: NodeMetrics?) { self.metrics = metrics }

    /// Opens a connection's stream; call `close` with the id when the socket ends.
    func open() -> (id: Int, stream: AsyncThrowingStream<String, any Error>) {
        let (stream, continuation) = AsyncThrowingStream<String, any Error>.makeStream(
            bufferingPolicy: .bufferingOldest(Self.queueMax))
        let id = state.withLockedValue { state in
            let id = state.next
            state.next += 1
            state.subscribers[id] = Subscriber(continuation: continuation)
            return id
        }
        metrics?.eventSubscribers.increment()
        return (id, stream)
    }

    /// Adds a filter to a connection; returns the subscription id.
    func subscribe(_ connection: Int, _ filter: Filter) -> Int? {
        state.withLockedValue { state in
            guard state.subscribers[connection] != nil else { return nil }
            let id = state.next
            state.next += 1
            state.subscribers[connection]?.filters[id] = filter
            if case .telemetry = filter { telemetryFilters.withLockedValue { $0 += 1 } }
            return id
        }
    }

    /// Telemetry filters open across all connections: the gateway skips building events when 0.
    let telemetryFilters = NIOLockedValueBox(0)

    /// Whether anyone watches telemetry.
    var watchesTelemetry: Bool { telemetryFilters.withLockedValue { $0 > 0 } }

    private func forget(_ filters: some Sequence<Filter>) {
        let count = filters.filter { if case .telemetry = $0 { true } else { false } }.count
        if count > 0 { telemetryFilters.withLockedValue { $0 -= count } }
    }

    /// Removes a subscription; false if the connection has no such id.
    func unsubscribe(_ connection: Int, _ subscription: Int) -> Bool {
        let removed = state.withLockedValue { state in
            state.subscribers[connection]?.filters.removeValue(forKey: subscription)
        }
        if let removed { forget([removed]) }
        return removed != nil
    }

    /// Every open telemetry subscription: connection, id, reader and filter.
    func telemetrySubscriptions() -> [(connection: Int, id: Int, reader: String, filter: String)] {
        state.withLockedValue { state in
            state.subscribers.flatMap { connection, subscriber in
                subscriber.filters.compactMap { id, filter in
                    if case .telemetry(_, let topicFilter, let reader, _) = filter {
                        return (connection, id, reader, topicFilter)
                    }
                    return nil
                }
            }
        }
    }

    /// Queues a reply for one connection.
    func send(_ connection: Int, _ text: String) {
        let continuation = state.withLockedValue { $0.subscribers[connection]?.continuation }
        continuation?.yield(text)
    }

    /// Ends a connection's stream.
    func close(_ connection: Int) {
        let removed = state.withLockedValue { $0.subscribers.removeValue(forKey: connection) }
        if let removed {
            forget(removed.filters.values)
            removed.continuation.finish()
            metrics?.eventSubscribers.decrement()
        }
    }

    /// Open connections.
    var connectionCount: Int { state.withLockedValue { $0.subscribers.count } }

    /// Delivers events to every connection with a matching filter.
    func publish(_ events: [Event]) {
        var slow: [AsyncThrowingStream<String, any Error>.Continuation] = []
        state.withLockedValue { state in
            for (id, subscriber) in state.subscribers {
                for event in events where subscriber.filters.values.contains(where: { Self.matches($0, event) }) {
                    if case .dropped = subscriber.continuation.yield(event.text) {
                        slow.append(subscriber.continuation)
                        state.subscribers.removeValue(forKey: id)
                        break
                    }
                }
            }
        }
        for continuation in slow {
            continuation.finish(throwing: Ending.tooSlow)
            metrics?.eventsDropped.increment()
            metrics?.eventSubscribers.decrement()
        }
    }

    static func matches(_ filter: Filter, _ event: Event) -> Bool {
        switch (filter, event.kind) {
        case (.blocks, .block): true
        case (.transactions(let type, let did), .transaction(let types, let dids)):
            (type.map { types.contains($0) } ?? true) && (did.map { dids.contains($0) } ?? true)
        case (.telemetry(let did, let filter, _, let until), .telemetry(let publisher, let topic)):
            did == publisher && MQTTTopic.matches(filter: filter, topic: topic)
                && Int64(Date().timeIntervalSince1970) < until
        default: false
        }
    }
}
