import Foundation
import MeshGateway
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
    let mqttConnections: Gauge
    let mqttSessions: Gauge
    let mqttReceived: Gauge
    let mqttDelivered: Gauge
    let mqttDropped: Gauge
    let mqttDenied: Gauge
    let mqttQuotaRefused: Gauge
    let mqttExpired: Gauge
    let shadows: Gauge
    let shadowRequests: Gauge
    let partitioned: Gauge
    let mqttPricedDelivered: Gauge
    let mqttPricedAmount: Gauge
    let mqttUnpaidRefused: Gauge
    let mqttVouchers: Gauge
    let mqttObservations: Gauge
    let queueWaiting: [String: Gauge]
    let queueDropped: [String: Gauge]
    let mempoolParked: Gauge

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
        mqttConnections = registry.makeGauge(name: "meshwork_mqtt_connections", help: "Open MQTT connections.")
        mqttSessions = registry.makeGauge(name: "meshwork_mqtt_sessions", help: "MQTT sessions kept (live or stored).")
        mqttReceived = registry.makeGauge(
            name: "meshwork_mqtt_messages_received", help: "Publishes accepted or relayed in, since start.")
        mqttDelivered = registry.makeGauge(
            name: "meshwork_mqtt_messages_delivered", help: "Messages sent to subscribers, since start.")
        mqttDropped = registry.makeGauge(
            name: "meshwork_mqtt_messages_dropped", help: "Messages dropped (full queues, slow clients), since start.")
        mqttDenied = registry.makeGauge(
            name: "meshwork_mqtt_denied", help: "Publishes and subscriptions refused by policy, since start.")
        mqttQuotaRefused = registry.makeGauge(
            name: "meshwork_mqtt_quota_refused",
            help: "CONNECTs, subscriptions, retained and QoS 2 publishes refused for a device's quota, since start.")
        mqttExpired = registry.makeGauge(
            name: "meshwork_mqtt_messages_expired",
            help: "Messages whose MQTT 5 expiry passed before they were sent, dropped, since start.")
        shadows = registry.makeGauge(name: "meshwork_shadows", help: "Device shadows kept (deleted ones included).")
        shadowRequests = registry.makeGauge(
            name: "meshwork_shadow_requests", help: "Shadow get, update and delete requests answered, since start.")
        partitioned = registry.makeGauge(
            name: "meshwork_partitioned",
            help: "1 while the node has gone [site] partition_after_seconds without a commit, else 0.")
        mqttPricedDelivered = registry.makeGauge(
            name: "meshwork_mqtt_priced_delivered",
            help: "Priced messages delivered against channel credit, since start.")
        mqttPricedAmount = registry.makeGauge(
            name: "meshwork_mqtt_priced_amount", help: "The price of the priced messages delivered, since start.")
        mqttUnpaidRefused = registry.makeGauge(
            name: "meshwork_mqtt_unpaid_refused", help: "Priced messages not delivered for want of credit, since start."
        )
        mqttVouchers = registry.makeGauge(
            name: "meshwork_mqtt_vouchers_accepted", help: "Vouchers taken on $mesh/pay/<channel>, since start.")
        mqttObservations = registry.makeGauge(
            name: "meshwork_mqtt_observations", help: "Feed observations taken on $mesh/oracle/<feed>, since start.")
        let lanes = ["consensus", "mempool", "submissions", "admission"]
        let registry = registry
        queueWaiting = Dictionary(
            uniqueKeysWithValues: lanes.map { lane in
                (
                    lane,
                    registry.makeGauge(
                        name: "meshwork_queue_waiting", labels: [("lane", lane)],
                        help: "Items waiting in the consensus loop's lane (admission: transactions before the loop).")
                )
            })
        queueDropped = Dictionary(
            uniqueKeysWithValues: lanes.map { lane in
                (
                    lane,
                    registry.makeGauge(
                        name: "meshwork_queue_dropped", labels: [("lane", lane)],
                        help: "Items dropped (peer lanes) or refused with 503 (submissions, admission) since start.")
                )
            })
        mempoolParked = registry.makeGauge(
            name: "meshwork_mempool_parked", help: "Mempool transactions waiting for an earlier nonce.")
    }

    /// Copies the loop's lane figures into their gauges (at scrape time).
    func update(inbox counts: LoopInbox.Counts, admissionWaiting: Int, admissionRefused: Int) {
        queueWaiting["consensus"]?.set(Int64(counts.consensusWaiting))
        queueWaiting["mempool"]?.set(Int64(counts.mempoolWaiting))
        queueWaiting["submissions"]?.set(Int64(counts.submissionsWaiting))
        queueWaiting["admission"]?.set(Int64(admissionWaiting))
        queueDropped["consensus"]?.set(Int64(counts.consensusDropped))
        queueDropped["mempool"]?.set(Int64(counts.mempoolDropped))
        queueDropped["submissions"]?.set(Int64(counts.submissionsRefused))
        queueDropped["admission"]?.set(Int64(admissionRefused))
    }

    /// The exposition text.
    func render() -> String { registry.emitToString() }

    /// Copies the gateway's counters into their gauges (at scrape time: they move per message).
    func update(gateway counters: GatewayCounters) {
        mqttConnections.set(Int64(counters.connections))
        mqttSessions.set(Int64(counters.sessionsStored))
        mqttReceived.set(Int64(counters.received))
        mqttDelivered.set(Int64(counters.delivered))
        mqttDropped.set(Int64(counters.dropped))
        mqttDenied.set(Int64(counters.denied))
        mqttQuotaRefused.set(Int64(counters.quotaRefused))
        mqttExpired.set(Int64(counters.expired))
        shadows.set(Int64(counters.shadows))
        shadowRequests.set(Int64(counters.shadowRequests))
        mqttPricedDelivered.set(Int64(counters.pricedDelivered))
        mqttPricedAmount.set(Int64(clamping: counters.pricedAmount))
        mqttUnpaidRefused.set(Int64(counters.unpaidRefused))
        mqttVouchers.set(Int64(counters.vouchersAccepted))
        mqttObservations.set(Int64(counters.observations))
    }
}
