import MeshCore

/// Limits of the provenance module.
public enum ProvenanceRules {
    /// Records in one anchored batch at most.
    public static let recordsPerBatchMax: UInt64 = 1 << 24
}

/// The `provenance.anchor` message.
enum ProvenanceHandler {
    static func anchor(_ message: AnchorBatch, _ context: MessageContext) throws {
        guard message.count >= 1, message.count <= ProvenanceRules.recordsPerBatchMax else {
            throw ProvenanceError.badCount(message.count)
        }
        guard message.batchHeight < context.height else {
            throw ProvenanceError.batchNotClosed(batchHeight: message.batchHeight, height: context.height)
        }
        let key = StateKeys.anchor(node: context.signer, batchHeight: message.batchHeight)
        guard try context.state.get(key) == nil else {
            throw ProvenanceError.alreadyAnchored(batchHeight: message.batchHeight)
        }
        context.state.write(
            key, ProvenanceAnchor(root: message.root, count: message.count, anchoredAt: context.height))
        context.block.emit(
            "provenance.anchor",
            [
                ("node", context.signer.description), ("batch", String(message.batchHeight)),
                ("root", message.root.hex), ("count", String(message.count)),
            ])
    }
}
