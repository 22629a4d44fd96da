import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Owner-only files written durably: created 0600, fsynced, then linked into place so a
/// crash leaves either no file or the whole file, and an existing file is never replaced.
enum SecureFile {
    static func createExclusively(at path: String, contents: Data, existsError: KeystoreError) throws(KeystoreError) {
        let directory = (path as NSString).deletingLastPathComponent
        let temporary = (directory as NSString).appendingPathComponent(
            ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else { throw .io(path: temporary, reason: String(cString: strerror(errno))) }
        defer { unlink(temporary) }
        let written = contents.withUnsafeBytes { buffer -> Bool in
            var offset = 0
            while offset < buffer.count {
                let count = write(descriptor, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { return false }
                offset += count
            }
            return true
        }
        let synced = fsync(descriptor) == 0
        close(descriptor)
        guard written && synced else { throw .io(path: temporary, reason: "write or fsync failed") }
        // link() fails with EEXIST instead of replacing, unlike rename().
        guard link(temporary, path) == 0 else {
            if errno == EEXIST { throw existsError }
            throw .io(path: path, reason: String(cString: strerror(errno)))
        }
        syncDirectory(directory)
    }

    static func read(at path: String, bytesMax: Int) throws(KeystoreError) -> Data {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        let size = (attributes?[.size] as? NSNumber)?.intValue ?? 0
        guard size <= bytesMax else { throw .fileTooLarge(path: path, size: size, limit: bytesMax) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .io(path: path, reason: "cannot read the file")
        }
        guard data.count <= bytesMax else { throw .fileTooLarge(path: path, size: data.count, limit: bytesMax) }
        return data
    }

    static func syncDirectory(_ directory: String) {
        let descriptor = open(directory, O_RDONLY)
        guard descriptor >= 0 else { return }
        fsync(descriptor)
        close(descriptor)
    }
}
