import MeshCore

/// Read access to one version of state. Module readers are extensions on this protocol so the
/// same code answers inside a block, in the mempool and for a past height.
protocol StateReader: AnyObject {
    func get(_ key: [UInt8]) throws(StateError) -> [UInt8]?
}

extension StateReader {
    func read<T: CanonicalDecodable>(_ type: T.Type, _ key: [UInt8]) throws(StateError) -> T? {
        guard let bytes = try get(key) else { return nil }
        do { return try T(canonicalBytes: bytes) } catch {
            throw .corrupt("value at key \(Hex.encode(key)) does not decode as \(T.self): \(error)")
        }
    }

    func readUInt64(_ key: [UInt8]) throws(StateError) -> UInt64 {
        guard let bytes = try get(key) else { return 0 }
        guard bytes.count == 8 else { throw .corrupt("value at key \(Hex.encode(key)) is not 8 bytes") }
        return bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }
}

extension ExecutionState: StateReader {}

/// State as it was after a committed height, read through the tree.
final class HistoricalState: StateReader {
    let store: any CommittedState
    let height: UInt64

    init(store: any CommittedState, height: UInt64) {
        self.store = store
        self.height = height
    }

    func get(_ key: [UInt8]) throws(StateError) -> [UInt8]? {
        if height == store.height { return try store.value(forKey: key) }
        return try store.read(key: key, at: height).value
    }
}
