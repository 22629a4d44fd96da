public import MeshCore

/// Failures of provenance messages. Module `provenance`.
public enum ProvenanceError: MeshError, Equatable {
    /// The signer already anchored this batch.
    case alreadyAnchored(batchHeight: UInt64)
    /// The batch is not before the block that carries its anchor.
    case batchNotClosed(batchHeight: UInt64, height: UInt64)
    /// The count is zero or above `ProvenanceRules.recordsPerBatchMax`.
    case badCount(UInt64)

    /// `provenance`.
    public var module: String { "provenance" }

    /// Stable codes; see `Modules/Provenance/README.md`.
    public var code: UInt32 {
        switch self {
        case .alreadyAnchored: 1
        case .batchNotClosed: 2
        case .badCount: 3
        }
    }

    /// One sentence.
    public var message: String {
        switch self {
        case .alreadyAnchored(let batch): "the signer already anchored batch \(batch)"
        case .batchNotClosed(let batch, let height):
            "batch \(batch) is not closed at height \(height): a batch is anchored in a later block"
        case .badCount(let count):
            "a batch holds 1…\(ProvenanceRules.recordsPerBatchMax) records, not \(count)"
        }
    }
}
