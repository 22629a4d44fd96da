import NIOConcurrencyHelpers

/// A count of storage uploads in progress, bounded: each holds an open file (a shard) or up to
/// 64 MiB of memory (a manifest), so a client (or many) cannot open them without end.
final class UploadSlots: Sendable {
    /// Uploads at once; more get 503 `api/22`.
    static let uploadsMax = 16
    private let count = NIOLockedValueBox(0)

    /// Takes a slot; false when all are taken.
    func begin() -> Bool {
        count.withLockedValue { count in
            guard count < Self.uploadsMax else { return false }
            count += 1
            return true
        }
    }

    /// Gives a slot back.
    func end() { count.withLockedValue { $0 = max(0, $0 - 1) } }

    /// Uploads in progress.
    var inProgress: Int { count.withLockedValue { $0 } }
}
