import Foundation

/// A shard written to a file, fsynced by `finish` (nothing is acknowledged before that).
public final class FileShardSink: ShardSink {
    let handle: FileHandle
    /// The file's path.
    public let path: String

    /// Creates (or truncates) the file at `path`.
    public init(path: String) throws(ObjectError) {
        guard FileManager.default.createFile(atPath: path, contents: nil),
            let handle = FileHandle(forWritingAtPath: path)
        else { throw .io("cannot create \(path)") }
        self.handle = handle
        self.path = path
    }

    /// Appends bytes.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(ObjectError) {
        do {
            try handle.write(contentsOf: Data(bytes))
        } catch {
            throw .io("writing \(path) failed: \(error)")
        }
    }

    /// fsyncs and closes the file.
    public func finish() throws(ObjectError) {
        do {
            try handle.synchronize()
            try handle.close()
        } catch {
            throw .io("syncing \(path) failed: \(error)")
        }
    }
}

/// Shards read from files, one path per shard (a missing file is an unavailable shard).
public struct FileShardSource: ShardSource {
    /// The file of each shard, in shard order.
    public let paths: [String]

    /// A source over `paths`.
    public init(paths: [String]) { self.paths = paths }

    /// The bytes, or nil when the file is missing or too short.
    public func read(shard: Int, offset: UInt64, count: Int) -> [UInt8]? {
        guard shard >= 0, shard < paths.count, let handle = FileHandle(forReadingAtPath: paths[shard]) else {
            return nil
        }
        defer { try? handle.close() }
        guard (try? handle.seek(toOffset: offset)) != nil, let data = try? handle.read(upToCount: count),
            data.count == count
        else { return nil }
        return Array(data)
    }
}
