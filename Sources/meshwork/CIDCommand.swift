import ArgumentParser
import Foundation
import MeshCore
import MeshNode

/// `meshwork cid FILE…`: the CIDv1 that IPFS would give each file's bytes.
struct CIDCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cid",
        abstract: "Print the CIDv1 (raw, sha2-256, base32) of each file's bytes, as IPFS computes it.",
        discussion: "Files are streamed, never read whole into memory. Use '-' for standard input.")

    @Argument(help: "Files to identify ('-' reads standard input).") var files: [String]
    @OptionGroup var home: HomeOptions

    /// Read size while streaming.
    static let chunkBytes = 1 << 20

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("name at least one file") }
    }

    func run() throws {
        for path in files {
            let cid = CID(codec: CID.codecRaw, digest: try CIDCommand.digest(of: path))
            print(files.count == 1 ? cid.string : "\(cid.string)  \(path)")
        }
    }

    static func digest(of path: String) throws -> Hash256 {
        let handle: FileHandle
        if path == "-" {
            handle = FileHandle.standardInput
        } else {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw CommandFailure("\(path): no such file")
            }
            guard !isDirectory.boolValue else { throw CommandFailure("\(path): is a directory") }
            guard let opened = FileHandle(forReadingAtPath: path) else {
                throw CommandFailure("\(path): cannot be read")
            }
            handle = opened
        }
        defer { if path != "-" { try? handle.close() } }
        var hasher = Hash256.Hasher()
        while true {
            let chunk = try handle.read(upToCount: chunkBytes) ?? Data()
            if chunk.isEmpty { break }
            hasher.update(chunk)
        }
        return hasher.finalize()
    }
}
