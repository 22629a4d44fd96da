import Foundation
import MeshCore

#if canImport(Glibc)
    import Glibc
#endif

/// The consensus WAL in one append-only file with `WALFraming` records. A synced append calls
/// fsync before returning. On open, a torn or corrupt tail is cut off (and the cut fsynced).
/// After an end-of-height mark, a file past `compactBytes` is replaced by one holding only
/// that mark (write, fsync, rename, fsync the directory).
public final class FileWAL: ConsensusWAL {
    /// The file.
    public let path: String
    /// Size after which the log restarts at the next end-of-height mark.
    public let compactBytes: Int
    private var descriptor: Int32
    private var size: Int

    /// Opens (creating) the log at `path`.
    public init(path: String, compactBytes: Int = 8 << 20) throws(ConsensusError) {
        self.path = path
        self.compactBytes = compactBytes
        descriptor = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw .corruptStorage("cannot open WAL \(path): errno \(errno)") }
        size = Int(lseek(descriptor, 0, SEEK_END))
    }

    deinit { close(descriptor) }

    /// Appends one record; `sync` fsyncs before returning.
    public func append(_ record: WALRecord, sync: Bool) throws(ConsensusError) {
        let bytes = WALFraming.frame(record)
        if case .endHeight = record, sync, size > compactBytes {
            try restart(with: bytes)
            return
        }
        try writeAll(bytes, to: descriptor)
        size += bytes.count
        if sync, fsync(descriptor) != 0 { throw .corruptStorage("fsync of WAL failed: errno \(errno)") }
    }

    /// Every intact record; a damaged tail is truncated on disk.
    public func records() throws(ConsensusError) -> [WALRecord] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        let bytes = [UInt8](data)
        let (records, valid) = WALFraming.parse(bytes)
        if valid < bytes.count {
            guard ftruncate(descriptor, off_t(valid)) == 0, fsync(descriptor) == 0 else {
                throw .corruptStorage("cannot cut the damaged WAL tail: errno \(errno)")
            }
            size = valid
        }
        return records
    }

    private func restart(with bytes: [UInt8]) throws(ConsensusError) {
        let temporary = path + ".tmp"
        try DurableFile.write(bytes, to: temporary)
        guard rename(temporary, path) == 0 else { throw .corruptStorage("cannot replace WAL: errno \(errno)") }
        try DurableFile.syncDirectory(of: path)
        close(descriptor)
        descriptor = open(path, O_RDWR | O_APPEND | O_CLOEXEC)
        guard descriptor >= 0 else { throw .corruptStorage("cannot reopen WAL: errno \(errno)") }
        size = bytes.count
    }
}

/// The signer's last step in a small file, replaced atomically: written to a temporary file,
/// fsynced, renamed over, and the directory fsynced, before the signature is released.
public final class FileSignerStore: SignerStateStore {
    /// The file.
    public let path: String

    /// The store at `path` (created on first save).
    public init(path: String) { self.path = path }

    /// The last signed step; a file that does not decode is an error, never "nothing signed".
    public func load() throws(ConsensusError) -> SignerState? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        do {
            return try SignerState(canonicalBytes: [UInt8](data))
        } catch {
            throw .corruptStorage("signer state \(path) does not decode; refusing to sign (\(error))")
        }
    }

    /// Records a step durably.
    public func save(_ state: SignerState) throws(ConsensusError) {
        let temporary = path + ".tmp"
        try DurableFile.write(state.canonicalBytes, to: temporary)
        guard rename(temporary, path) == 0 else { throw .corruptStorage("cannot replace \(path): errno \(errno)") }
        try DurableFile.syncDirectory(of: path)
    }
}

/// fsync-ed whole-file writes.
enum DurableFile {
    static func write(_ bytes: [UInt8], to path: String) throws(ConsensusError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw .corruptStorage("cannot create \(path): errno \(errno)") }
        defer { close(descriptor) }
        try writeAll(bytes, to: descriptor)
        guard fsync(descriptor) == 0 else { throw .corruptStorage("fsync of \(path) failed: errno \(errno)") }
    }

    static func syncDirectory(of path: String) throws(ConsensusError) {
        let directory = (path as NSString).deletingLastPathComponent
        let descriptor = open(directory.isEmpty ? "." : directory, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .corruptStorage("cannot open directory of \(path)") }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw .corruptStorage("fsync of the directory of \(path) failed") }
    }
}

private func writeAll(_ bytes: [UInt8], to descriptor: Int32) throws(ConsensusError) {
    var offset = 0
    while offset < bytes.count {
        let written = bytes[offset...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        if written < 0 {
            if errno == EINTR { continue }
            throw .corruptStorage("write failed: errno \(errno)")
        }
        offset += written
    }
}
