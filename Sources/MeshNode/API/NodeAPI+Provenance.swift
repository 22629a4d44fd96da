import Foundation
import Hummingbird
import MeshAPI
import MeshConsensus
import MeshCore
import MeshGateway
import MeshLedger

extension NodeAPI {
    /// `GET /provenance/proof` and `GET /provenance/anchors/{node}/{batch}`.
    static func addProvenanceRoutes(
        _ router: Router<BasicRequestContext>, runtime: NodeRuntime, blocks: SQLiteBlockStore
    ) {
        router.get("provenance/proof") { request, _ in
            let query = request.uri.queryParameters
            let device = try didParameter(query.get("device"), name: "device")
            guard let topic = query.get("topic"), !topic.isEmpty else {
                throw Failure("api/10", "topic is required (the topic name the payload was published on)")
            }
            guard let hashText = query.get("payload_hash"), let raw = try? Hex.decode(hashText),
                let payloadHash = Hash256(bytes: raw)
            else {
                throw Failure("api/10", "payload_hash must be the payload's SHA-256, 64 hex digits")
            }
            guard let log = runtime.gateway?.provenance else {
                throw Failure("api/15", "the MQTT gateway has not started", .serviceUnavailable)
            }
            switch try log.lookup(device: device, topic: topic, payloadHash: payloadHash) {
            case .notFound:
                let note = log.retentionNote().map { "; " + $0 } ?? ""
                throw Failure(
                    "api/16", "this node's gateway has no record of that payload from \(device) on '\(topic)'\(note)",
                    .notFound)
            case .pending(let batch):
                throw Failure(
                    "api/17", "the record is in batch \(batch), which closes when block \(batch + 1) commits; retry",
                    .conflict)
            case .unanchored(let batch):
                throw Failure(
                    "api/17", "the record is in batch \(batch), whose anchor is not committed yet; retry", .conflict)
            case .anchored(let proof):
                return json(proofView(proof))
            }
        }
        router.get("provenance/anchors/:node/:batch") { request, context in
            let node = try didParameter(context.parameters.get("node"), name: "node")
            guard let batch = context.parameters.get("batch", as: UInt64.self) else {
                throw Failure("api/1", "batch must be a height (a non-negative integer)")
            }
            let device = try request.uri.queryParameters.get("device").map { try didParameter($0, name: "device") }
            let answer = try await stateAnswer(request, runtime: runtime, blocks: blocks) { view in
                (
                    try view.provenanceAnchor(node: node, batchHeight: batch),
                    try device.map { try view.currentKeys(of: $0).map(\.hex) },
                    try view.validatorOperator(of: node)
                )
            }
            let (anchor, keys, validatorOperator) = answer.value
            return json(
                ProvenanceAnchorView(
                    node: node.description, batch: batch, height: answer.height, root: anchor?.root.hex,
                    count: anchor?.count, anchoredAt: anchor?.anchoredAt, deviceKeys: keys,
                    validatorOperator: validatorOperator?.description, proof: answer.proof))
        }
    }

    static func proofView(_ proof: ProvenanceProof) -> ProvenanceProofView {
        let record = proof.record
        return ProvenanceProofView(
            record: Hex.encode(proof.leaf), device: record.device.description, topic: record.topic,
            payloadHash: record.payloadHash.hex, node: record.node.description, batch: record.batchHeight,
            receivedAtMs: record.receivedAtMs, deviceSigned: record.isDeviceSigned,
            leafIndex: proof.inclusion.leafIndex, treeSize: proof.head.size, path: proof.inclusion.path.map(\.hex),
            root: proof.head.root.hex, anchoredAt: proof.anchoredAt)
    }
}
