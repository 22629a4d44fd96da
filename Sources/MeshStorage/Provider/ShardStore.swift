import Foundation
public import MeshCore

#if canImport(Glibc)
    import Glibc
#endif

/// A provider's shards and sealed manifests on disk, content-addressed: a shard lives at
/// `shards/<root hex>`, a manifest at `manifests/<CID>`. A file appears under its name only
/// after its content was checked and fsynced, and the directory fsynced after the rename, so
/// what is acknowledged survives a crash and nothing unverified is ever served.
public final class ShardStore: @unchecked Sendable {
    /// The store's directory.
    public let directory: String
    /// Verified leaf hashes per shard, keyed to the file's size and modification time so a
    /// challenge does not re-read and re-hash a whole shard that has not changed. Guarded by `lock`.
    private var verified: [Hash256: VerifiedLeaves] = [:]
    private let lock = NSLock()
    /// Shards whose leaves are kept at most.
    static let verifiedEntriesMax = 4096

    struct VerifiedLeaves {
        var stamp: FileStamp
        var pieceBytes: Int
        var leaves: [Hash256]
    }

    struct FileStamp: Equatable {
        var size: UInt64
        var modified: Date
    }

    /// Opens (creating) the store in `directory`.
    public init(directory: String) throws(ShardStoreError) {
        self.directory = directory
        for sub in ["shards", "manifests", "incoming"] {
            do {
                try FileManager.default.createDirectory(
                    atPath: directory + "/" + sub, withIntermediateDirectories: true)
            } catch {
                throw .io("cannot create \(directory)/\(sub): \(error)")
            }
        }
    }

    /// Where the shard with `root` lives (whether or not it is there).
    public func path(of root: Hash256) -> String { directory + "/shards/" + root.hex }

    /// Whether a shard with `root` is stored.
    public func contains(_ root: Hash256) -> Bool { FileManager.default.fileExists(atPath: path(of: root)) }

    /// Starts receiving a shard that must have `bytes` bytes and hash to `root` in pieces of
    /// `pieceBytes`.
    public func beginShard(root: Hash256, bytes: UInt64, pieceBytes: Int) throws(ShardStoreError) -> ShardUpload {
        let temporary = directory + "/incoming/" + root.hex + "." + UUID().uuidString
        return try ShardUpload(
            store: self, temporary: temporary, root: root, expectedBytes: bytes, pieceBytes: pieceBytes)
    }

    /// The leaf hashes of the stored shard, read from disk.
    func leafHashes(of root: Hash256, pieceBytes: Int) throws(ShardStoreError) -> [Hash256] {
        guard let handle = FileHandle(forReadingAtPath: path(of: root)) else { throw .notFound(root) }
        defer { try? handle.close() }
        var hasher = PieceHasher(pieceBytes: pieceBytes)
        while true {
            let chunk: Data
            do { chunk = try handle.read(upToCount: 1 << 20) ?? Data() } catch {
                throw .io("reading shard \(root.hex) failed: \(error)")
            }
            if chunk.isEmpty { break }
            chunk.withUnsafeBytes { hasher.feed($0) }
        }
        _ = hasher.root()
        return hasher.leafHashes
    }

    func stamp(of root: Hash256) -> FileStamp? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path(of: root)),
            let size = (attributes[.size] as? NSNumber)?.uint64Value,
            let modified = attributes[.modificationDate] as? Date
        else { return nil }
        return FileStamp(size: size, modified: modified)
    }

    func remember(_ root: Hash256, _ entry: VerifiedLeaves) {
        lock.withLock {
            if verified.count >= Self.verifiedEntriesMax { verified.removeAll() }
            verified[root] = entry
        }
    }

    /// The leaf hashes of the stored shard `root`, checked to hash to it: from memory while the
    /// file keeps the size and modification time it had when they were checked, else re-read.
    func verifiedLeaves(of root: Hash256, pieceBytes: Int) throws(ShardStoreError) -> [Hash256] {
        guard let stamp = stamp(of: root) else { throw .notFound(root) }
        if let entry = lock.withLock({ verified[root] }), entry.stamp == stamp, entry.pieceBytes == pieceBytes {
            return entry.leaves
        }
        let leaves = try leafHashes(of: root, pieceBytes: pieceBytes)
        guard MerkleTree(leafHashes: leaves).root == root else { throw .corrupt(root) }
        remember(root, VerifiedLeaves(stamp: stamp, pieceBytes: pieceBytes, leaves: leaves))
        return leaves
    }

    /// The piece `index` of the stored shard `root` and its audit path. Throws `corrupt` when
    /// the shard on disk no longer hashes to `root` (re-checked whenever the file changed), or the
    /// piece read no longer matches its leaf: an honest provider does not answer then.
    public func proof(
        root: Hash256, piece index: UInt64, pieceBytes: Int
    ) throws(ShardStoreError) -> (
        piece: [UInt8], path: [Hash256]
    ) {
        let leaves = try verifiedLeaves(of: root, pieceBytes: pieceBytes)
        let tree = MerkleTree(leafHashes: leaves)
        guard index < UInt64(leaves.count) else { throw .corrupt(root) }
        guard let handle = FileHandle(forReadingAtPath: path(of: root)) else { throw .notFound(root) }
        defer { try? handle.close() }
        let bytes: [UInt8]
        do {
            try handle.seek(toOffset: index * UInt64(pieceBytes))
            bytes = [UInt8](try handle.read(upToCount: pieceBytes) ?? Data())
        } catch {
            throw .io("reading shard \(root.hex) failed: \(error)")
        }
        // The file may have changed without its stamp changing; the piece must still be the leaf.
        guard MerkleHashing.leafHash(bytes) == leaves[Int(index)] else { throw .corrupt(root) }
        return (bytes, tree.inclusionProof(leafIndex: Int(index)).path)
    }

    /// Whether the stored shard still hashes to `root`.
    public func verify(root: Hash256, pieceBytes: Int) -> Bool {
        guard let leaves = try? leafHashes(of: root, pieceBytes: pieceBytes) else { return false }
        return MerkleTree(leafHashes: leaves).root == root
    }

    /// Removes the shard `root` (a corrupt copy, or one no deal needs).
    public func remove(_ root: Hash256) {
        lock.withLock { _ = verified.removeValue(forKey: root) }
        try? FileManager.default.removeItem(atPath: path(of: root))
    }

    /// Stores a sealed manifest already in memory after checking it hashes to `cid`.
    public func putManifest(_ bytes: [UInt8], cid: CID) throws(ShardStoreError) {
        let upload = try beginManifest(cid: cid, bytesMax: bytes.count)
        let failure: ShardStoreError? = bytes.withUnsafeBytes { raw in
            do throws(ShardStoreError) { try upload.append(raw) } catch { return error }
            return nil
        }
        if let failure { throw failure }
        try upload.commit()
    }

    /// Starts receiving the sealed manifest `cid` into `incoming/`: written and hashed as it
    /// arrives, refused past `bytesMax`, stored only if it hashes to `cid`.
    public func beginManifest(cid: CID, bytesMax: Int) throws(ShardStoreError) -> ManifestUpload {
        try ManifestUpload(
            store: self, cid: cid, bytesMax: UInt64(bytesMax),
            temporary: directory + "/incoming/" + cid.string + "." + UUID().uuidString)
    }

    /// Where the sealed manifest `cid` is (or would be) stored.
    public func manifestPath(of cid: CID) -> String { directory + "/manifests/" + cid.string }

    /// The sealed manifest `cid`, if stored.
    public func manifest(_ cid: CID) -> [UInt8]? {
        FileManager.default.contents(atPath: directory + "/manifests/" + cid.string).map { [UInt8]($0) }
    }

    /// Renames a synced file into place and syncs the directory.
    static func publish(_ temporary: String, as final: String) throws(ShardStoreError) {
        guard rename(temporary, final) == 0 else {
            throw .io("cannot rename \(temporary) to \(final): errno \(errno)")
        }
        let parent = (final as NSString).deletingLastPathComponent
        let descriptor = open(parent, O_RDONLY)
        guard descriptor >= 0 else { throw .io("cannot open \(parent) to sync it") }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw .io("cannot sync \(parent): errno \(errno)") }
    }
}

/// An upload a provider receives in pieces: `append` as bytes arrive, then `commit` (checked,
/// fsynced, moved into place) or `abort` (nothing is left behind).
public protocol StreamedUpload: AnyObject {
    /// Writes the next received bytes.
    func append(_ bytes: UnsafeRawBufferPointer) throws(ShardStoreError)
    /// Checks what was received and stores it.
    func commit() throws(ShardStoreError)
    /// Drops what was received.
    func abort()
}

/// A file in `incoming/` being written: fsynced and renamed into place by `publish`, removed by
/// `abort` (or when dropped unfinished).
final class IncomingFile {
    let path: String
    private let handle: FileHandle
    private(set) var finished = false

    init(_ path: String) throws(ShardStoreError) {
        guard FileManager.default.createFile(atPath: path, contents: nil),
            let handle = FileHandle(forWritingAtPath: path)
        else { throw .io("cannot create \(path)") }
        self.path = path
        self.handle = handle
    }

    deinit { abort() }

    func write(_ bytes: UnsafeRawBufferPointer) throws(ShardStoreError) {
        do { try handle.write(contentsOf: Data(bytes)) } catch {
            abort()
            throw .io("writing \(path) failed: \(error)")
        }
    }

    /// Fsyncs the file and moves it to `final` (kept as it is when `final` already exists).
    func publish(as final: String) throws(ShardStoreError) {
        do {
            try handle.synchronize()
            try handle.close()
        } catch {
            abort()
            throw .io("syncing \(path) failed: \(error)")
        }
        finished = true
        if FileManager.default.fileExists(atPath: final) {
            try? FileManager.default.removeItem(atPath: path)
            return
        }
        try ShardStore.publish(path, as: final)
    }

    func abort() {
        guard !finished else { return }
        finished = true
        try? handle.close()
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// A shard being received: bytes are written and hashed as they arrive; `commit` checks the
/// length and root, fsyncs and moves it into place. Anything else leaves no shard behind.
public final class ShardUpload: StreamedUpload {
    let store: ShardStore
    let file: IncomingFile
    /// The root the shard must have.
    public let root: Hash256
    /// The length it must have.
    public let expectedBytes: UInt64
    var hasher: PieceHasher
    /// Bytes received so far.
    public private(set) var receivedBytes: UInt64 = 0

    init(
        store: ShardStore, temporary: String, root: Hash256, expectedBytes: UInt64, pieceBytes: Int
    )
        throws(ShardStoreError)
    {
        file = try IncomingFile(temporary)
        self.store = store
        self.root = root
        self.expectedBytes = expectedBytes
        hasher = PieceHasher(pieceBytes: pieceBytes)
    }

    /// Appends received bytes; refuses more than the expected length.
    public func append(_ bytes: UnsafeRawBufferPointer) throws(ShardStoreError) {
        let total = receivedBytes + UInt64(bytes.count)
        guard total <= expectedBytes else {
            abort()
            throw .wrongSize(expected: expectedBytes, got: total)
        }
        try file.write(bytes)
        hasher.feed(bytes)
        receivedBytes = total
    }

    /// Checks length and root, fsyncs and stores the shard under its root.
    public func commit() throws(ShardStoreError) {
        guard receivedBytes == expectedBytes else {
            abort()
            throw .wrongSize(expected: expectedBytes, got: receivedBytes)
        }
        let got = hasher.root()
        guard got == root else {
            abort()
            throw .wrongRoot(expected: root, got: got)
        }
        try file.publish(as: store.path(of: root))
        // The leaves were just checked against the root: the first challenge need not re-read.
        if let stamp = store.stamp(of: root) {
            store.remember(
                root, ShardStore.VerifiedLeaves(stamp: stamp, pieceBytes: hasher.pieceBytes, leaves: hasher.leafHashes))
        }
    }

    /// Drops what was received.
    public func abort() { file.abort() }
}

/// A sealed manifest being received: streamed to a file and hashed, never held whole in memory.
public final class ManifestUpload: StreamedUpload {
    let store: ShardStore
    let cid: CID
    let bytesMax: UInt64
    let file: IncomingFile
    var hasher = Hash256.Hasher()
    /// Bytes received so far.
    public private(set) var bytesWritten: UInt64 = 0

    init(store: ShardStore, cid: CID, bytesMax: UInt64, temporary: String) throws(ShardStoreError) {
        file = try IncomingFile(temporary)
        self.store = store
        self.cid = cid
        self.bytesMax = bytesMax
    }

    /// Appends received bytes; refuses more than `bytesMax` in all.
    public func append(_ bytes: UnsafeRawBufferPointer) throws(ShardStoreError) {
        let total = bytesWritten + UInt64(bytes.count)
        guard total <= bytesMax else {
            abort()
            throw .manifestTooLarge(limit: bytesMax)
        }
        try file.write(bytes)
        hasher.update(bufferPointer: bytes)
        bytesWritten = total
    }

    /// Checks the hash against the CID, fsyncs and stores the manifest.
    public func commit() throws(ShardStoreError) {
        guard hasher.finalize() == cid.digest else {
            abort()
            throw .manifestMismatch(cid.string)
        }
        try file.publish(as: store.manifestPath(of: cid))
    }

    /// Drops what was received.
    public func abort() { file.abort() }
}
