import Foundation
import MeshAPI
import MeshCore
import MeshLedger
import MeshNode
import MeshSDK
import MeshStorage

/// `meshwork bench storage --end-to-end-mib N`: `store put` and `store get` of an N MiB file
/// through a devnet of one validator and six provider nodes on this machine, code 4+2.
enum StorageEndToEnd {
    struct Report: Encodable {
        var bytes: UInt64
        var code = "4+2"
        var providers = 6
        var putSeconds: Double
        var putMBps: Double
        var encodeSeconds: Double
        var uploadSeconds: Double
        var getSeconds: Double
        var getMBps: Double
        var downloadSeconds: Double
        var decodeSeconds: Double
        var identical: Bool
        var note = "MB = 10^6 bytes of the plaintext; client, 7 node processes and their disks share this machine"
    }

    static func run(mebibytes: Int, log: (String) -> Void) async throws -> Report {
        let root = NSTemporaryDirectory() + "meshwork-bench-storage-\(getpid())"
        try? FileManager.default.removeItem(atPath: root)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let payer = Ed25519.PrivateKey()
        let homes = (0..<7).map { NodeHome(path: root + "/node-\($0)") }
        let apiBase = 21_580
        try Devnet.create(
            homes, root: root, chainId: "bench-storage", p2pPort: 31_800, apiPort: apiBase, mqttPort: 0,
            extraAccounts: [.key(payer.publicKey)], providers: 6)
        var processes: [Process] = []
        defer {
            for process in processes where process.isRunning { process.terminate() }
            for process in processes { process.waitUntilExit() }
        }
        for home in homes { processes.append(try Devnet.launch(home)) }
        let storage = StorageClient(client: try MeshClient("http://127.0.0.1:\(apiBase)"))
        let deadline = Date().addingTimeInterval(180)
        while (try? await storage.providers().providers.count) != 6 {
            guard Date() < deadline else { throw CommandFailure("the 6 providers did not register within 180 s") }
            try await Task.sleep(for: .milliseconds(500))
        }
        log("devnet of 1 validator and 6 providers up; writing a \(mebibytes) MiB file")
        let input = root + "/input.bin"
        let output = root + "/output.bin"
        try writeRandomFile(input, bytes: mebibytes << 20)
        let spool = root + "/spool"
        try FileManager.default.createDirectory(atPath: spool, withIntermediateDirectories: true)
        let putStart = Date()
        let put = try await storage.put(
            file: input, layout: ObjectLayout(dataShards: 4, parityShards: 2), region: nil, durationBlocks: 100_000,
            escrowMax: 1 << 62, signer: .key(payer.publicKey), key: payer, fee: 1_000, spool: spool)
        let putSeconds = Date().timeIntervalSince(putStart)
        for file in try FileManager.default.contentsOfDirectory(atPath: spool) {
            try? FileManager.default.removeItem(atPath: spool + "/" + file)
        }
        log(
            String(
                format: "put: %.2f s (encode %.2f s, deal and upload %.2f s)", putSeconds, put.encodeSeconds,
                putSeconds - put.encodeSeconds))
        let getStart = Date()
        let got = try await storage.get(put.capability, output: output, spool: spool)
        let getSeconds = Date().timeIntervalSince(getStart)
        log(
            String(
                format: "get: %.2f s (download %.2f s, decode %.2f s)", getSeconds, got.downloadSeconds,
                got.decodeSeconds))
        let bytes = UInt64(mebibytes << 20)
        return Report(
            bytes: bytes, putSeconds: putSeconds, putMBps: Double(bytes) / putSeconds / 1e6,
            encodeSeconds: put.encodeSeconds, uploadSeconds: put.uploadSeconds, getSeconds: getSeconds,
            getMBps: Double(bytes) / getSeconds / 1e6, downloadSeconds: got.downloadSeconds,
            decodeSeconds: got.decodeSeconds, identical: try sameContents(input, output))
    }

    static func writeRandomFile(_ path: String, bytes: Int) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil),
            let handle = FileHandle(forWritingAtPath: path)
        else { throw CommandFailure("cannot write \(path)") }
        defer { try? handle.close() }
        var generator = SplitMix64(seed: 42)
        var chunk = [UInt64](repeating: 0, count: (4 << 20) / 8)
        var written = 0
        while written < bytes {
            for index in chunk.indices { chunk[index] = generator.next() }
            let count = min(4 << 20, bytes - written)
            try chunk.withUnsafeBytes { try handle.write(contentsOf: Data($0.prefix(count))) }
            written += count
        }
    }

    static func sameContents(_ first: String, _ second: String) throws -> Bool {
        guard let a = FileHandle(forReadingAtPath: first), let b = FileHandle(forReadingAtPath: second) else {
            return false
        }
        defer {
            try? a.close()
            try? b.close()
        }
        while true {
            let left = try a.read(upToCount: 4 << 20) ?? Data()
            let right = try b.read(upToCount: 4 << 20) ?? Data()
            if left != right { return false }
            if left.isEmpty { return true }
        }
    }
}
