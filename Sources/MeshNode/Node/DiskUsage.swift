import Foundation
public import MeshAPI

extension NodeRuntime {
    /// Seconds a measured `diskUsage` is reused: walking a provider's shard directory costs a
    /// `stat` per file, and any API client (or an open dashboard) may ask.
    static let diskUsageCacheSeconds: TimeInterval = 10

    /// Bytes per store under `<home>/data`: a SQLite file counts with its `-wal` and `-shm`, a
    /// directory with everything under it. Measured at most once per `diskUsageCacheSeconds`.
    public func diskUsage() -> DiskView {
        let now = Date()
        if let (measured, view) = diskUsageBox.withLockedValue({ $0 }),
            now.timeIntervalSince(measured) < Self.diskUsageCacheSeconds
        {
            return view
        }
        let view = measureDiskUsage()
        diskUsageBox.withLockedValue { $0 = (now, view) }
        return view
    }

    private func measureDiskUsage() -> DiskView {
        let data = home.dataPath
        let names = (try? FileManager.default.contentsOfDirectory(atPath: data)) ?? []
        var sizes: [String: UInt64] = [:]
        for name in names {
            var base = name
            for suffix in ["-wal", "-shm", "-journal"] where base.hasSuffix(suffix) { base.removeLast(suffix.count) }
            sizes[base, default: 0] += Self.bytes(at: data + "/" + name)
        }
        let stores = sizes.map { file, bytes in
            DiskView.Store(name: Self.storeName(file), path: "data/" + file, bytes: bytes)
        }.sorted { $0.bytes != $1.bytes ? $0.bytes > $1.bytes : $0.name < $1.name }
        return DiskView(stores: stores, totalBytes: stores.reduce(0) { $0 + $1.bytes })
    }

    static func storeName(_ file: String) -> String {
        switch file {
        case "cs.wal": "consensus-wal"
        case "signer_state": "signer-state"
        default: file.hasSuffix(".sqlite") ? String(file.dropLast(".sqlite".count)) : file
        }
    }

    /// Bytes of a file, or of everything under a directory (symbolic links not followed).
    static func bytes(at path: String) -> UInt64 {
        let manager = FileManager.default
        guard let attributes = try? manager.attributesOfItem(atPath: path) else { return 0 }
        guard attributes[.type] as? FileAttributeType == .typeDirectory else {
            return (attributes[.size] as? NSNumber)?.uint64Value ?? 0
        }
        var total: UInt64 = 0
        for child in (try? manager.contentsOfDirectory(atPath: path)) ?? [] { total += bytes(at: path + "/" + child) }
        return total
    }
}
