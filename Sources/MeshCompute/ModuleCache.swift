import Foundation
import MeshCore
import WasmKit
import WasmParser

/// Parsed modules by code id, so a call does not parse its code again. Bounded by count and by
/// source bytes; the least recently used goes first. Shared by the consensus loop and queries.
final class ModuleCache: @unchecked Sendable {
    // @unchecked: every field is read and written only under `lock`.
    private let lock = NSLock()
    private var entries: [CID: (module: Module, bytes: Int, used: UInt64)] = [:]
    private var clock: UInt64 = 0
    private var bytesTotal = 0
    let countMax: Int
    let bytesMax: Int

    init(countMax: Int = 256, bytesMax: Int = 128 << 20) {
        precondition(countMax > 0)
        precondition(bytesMax > 0)
        self.countMax = countMax
        self.bytesMax = bytesMax
    }

    /// The module for `id`, parsing `load()` on a miss.
    func module(_ id: CID, features: WasmFeatureSet, load: () throws -> [UInt8]) throws -> Module {
        if let hit = lookup(id) { return hit }
        let bytes = try load()
        let module = try parseWasm(bytes: bytes, features: features)
        insert(id, module, bytes: bytes.count)
        return module
    }

    /// How many modules are held.
    var count: Int { lock.withLock { entries.count } }

    private func lookup(_ id: CID) -> Module? {
        lock.withLock {
            guard var entry = entries[id] else { return nil }
            clock += 1
            entry.used = clock
            entries[id] = entry
            return entry.module
        }
    }

    private func insert(_ id: CID, _ module: Module, bytes: Int) {
        lock.withLock {
            clock += 1
            if let old = entries.updateValue((module, bytes, clock), forKey: id) { bytesTotal -= old.bytes }
            bytesTotal += bytes
            while entries.count > countMax || (bytesTotal > bytesMax && entries.count > 1) {
                guard let oldest = entries.min(by: { $0.value.used < $1.value.used }) else { break }
                entries[oldest.key] = nil
                bytesTotal -= oldest.value.bytes
            }
        }
    }
}
