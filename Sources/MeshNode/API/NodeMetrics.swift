import Foundation
import Prometheus

/// The node's Prometheus metrics, served at `/metrics` in the text exposition format. Gateway and
/// storage figures join this registry when those services arrive.
public final class NodeMetrics: Sendable {
    /// The registry `/metrics` renders.
    let registry = PrometheusCollectorRegistry()
    let height: Gauge
    let committedTransactions: Counter
    let transactionsPerSecond: Gauge
    let mempoolSize: Gauge
    let peers: Gauge
    let blockInterval: ValueHistogram
    let commitRound: Gauge
    let apiRequests: Counter
    let eventSubscribers: Gauge
    let eventsDropped: Counter

    init() {
        height = registry.makeGauge(name: "meshwork_height", help: "Last committed block height.")
        committedTransactions = registry.makeCounter(
            name: "meshwork_committed_transactions_total", help: "Transactions committed in blocks since start.")
        transactionsPerSecond = registry.makeGauge(
            name: "meshwork_committed_transactions_per_second",
            help: "Committed transactions per second over the last 10 blocks (BFT time).")
        mempoolSize = registry.makeGauge(name: "meshwork_mempool_size", help: "Transactions waiting in the mempool.")
        peers = registry.makeGauge(name: "meshwork_peers", help: "Connected P2P peers.")
        blockInterval = registry.makeValueHistogram(
            name: "meshwork_block_interval_seconds",
            buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
            help: "Wall time between consecutive commits on this node (the round duration seen here).")
        commitRound = registry.makeGauge(
            name: "meshwork_commit_round", help: "Round in which the last block was decided (0 = first round).")
        apiRequests = registry.makeCounter(name: "meshwork_api_requests_total", help: "HTTP API requests served.")
        eventSubscribers = registry.makeGauge(
            name: "meshwork_event_subscribers", help: "Open WebSocket event connections.")
        eventsDropped = registry.makeCounter(
            name: "meshwork_event_clients_dropped_total",
            help: "WebSocket clients closed because they fell too far behind.")
    }

    /// The exposition text.
    func render() -> String { registry.emitToString() }
}
