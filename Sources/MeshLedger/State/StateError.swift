public import MeshCore

/// Failures of the state store. Module `state`.
public enum StateError: MeshError, Equatable {
    /// SQLite failed (disk full, permissions, locked by another process).
    case storage(String)
    /// The height was pruned or never committed.
    case heightNotAvailable(requested: UInt64, oldest: UInt64, latest: UInt64)
    /// A stored node or value did not decode: the database file is damaged.
    case corrupt(String)
    /// `commit` was called without a pending block, or for the wrong height.
    case commitOutOfOrder(expected: UInt64, got: UInt64)

    /// `state`.
    public var module: String { "state" }

    /// Stable codes, listed in `Sources/MeshLedger/README.md`.
    public var code: UInt32 {
        switch self {
        case .storage: 1
        case .heightNotAvailable: 2
        case .corrupt: 3
        case .commitOutOfOrder: 4
        }
    }

    /// One sentence.
    public var message: String {
        switch self {
        case .storage(let detail): "the state database failed: \(detail)"
        case .heightNotAvailable(let requested, let oldest, let latest):
            "height \(requested) is not available; this node keeps heights \(oldest)...\(latest)"
        case .corrupt(let detail): "the state database is damaged: \(detail)"
        case .commitOutOfOrder(let expected, let got): "commit of height \(got) out of order; expected \(expected)"
        }
    }
}
