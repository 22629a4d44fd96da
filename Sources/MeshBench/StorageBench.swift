import ArgumentParser
import Foundation
import MeshNode
import MeshStorage

/// `meshwork bench storage`: Reed-Solomon per core on every kernel path beside zfec.
struct StorageBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storage",
        abstract:
            "Reed-Solomon encode/decode GB/s per core on every kernel path, beside zfec (pip install zfec) on the same data, and memcpy bandwidth."
    )

    @Flag(help: "Print the report as JSON.") var json = false
    @Option(help: "Seconds per rate measurement.") var seconds: Double = 2
    @Option(help: "KiB per shard.") var shardKib: Int = 1024
    @Option(help: "Codes to measure, k+m separated by commas.") var codes: String = "10+4,4+2"
    @Flag(help: "Skip running zfec as the peer.") var noPeer = false
    @Option(
        help: """
            Also put and get a file of this many MiB through a devnet of 1 validator and 6 provider nodes \
            (code 4+2; 0: skip). Use a release build.
            """)
    var endToEndMib: Int = 0

    func validate() throws {
        guard seconds > 0, seconds <= 60 else { throw ValidationError("--seconds must be in (0, 60]") }
        guard (1...65_536).contains(shardKib) else { throw ValidationError("--shard-kib must be in 1...65536") }
        guard (0...16_384).contains(endToEndMib) else { throw ValidationError("--end-to-end-mib must be in 0...16384") }
        _ = try parsedCodes()
    }

    func parsedCodes() throws -> [(Int, Int)] {
        try codes.split(separator: ",").map { text in
            let parts = text.split(separator: "+")
            guard parts.count == 2, let k = Int(parts[0]), let m = Int(parts[1]), k >= 1, m >= 1, k + m <= 255 else {
                throw ValidationError("'\(text)' is not a code k+m with k, m >= 1 and k + m <= 255")
            }
            return (k, m)
        }
    }

    func run() async throws {
        let report = try ErasureBenchmark.run(
            codes: parsedCodes(), shardBytes: shardKib * 1024, seconds: seconds, includePeer: !noPeer
        ) { printError($0) }
        struct Output: Encodable {
            var area = "storage"
            var machine: MachineInfo
            var erasure: ErasureBenchmark.Report
            var endToEnd: StorageEndToEnd.Report?
        }
        let endToEnd = endToEndMib > 0 ? try await StorageEndToEnd.run(mebibytes: endToEndMib) { printError($0) } : nil
        let output = Output(machine: .current, erasure: report, endToEnd: endToEnd)
        if json {
            try printJSON(output)
            return
        }
        func cell(_ value: Double?) -> String { value.map { String(format: "%.2f", $0) } ?? "-" }
        print("machine: \(output.machine.cpu), \(output.machine.cores) cores, \(output.machine.build) build")
        print("memcpy (1 GiB, one core): \(cell(report.memcpyGBps)) GB/s copied; peer: \(report.peer)")
        var rows: [[String]] = []
        for code in report.codes {
            for path in code.paths {
                rows.append([code.code, path.path, cell(path.rates.encodeGBps), cell(path.rates.decodeGBps)])
            }
            rows.append([code.code, "zfec", cell(code.zfec?.encodeGBps), cell(code.zfec?.decodeGBps)])
            rows.append([
                code.code, "best / zfec", cell(code.encodeRatioToZfec), cell(code.decodeRatioToZfec),
            ])
        }
        printTable(["CODE", "PATH", "ENCODE GB/s", "DECODE GB/s"], rows)
        if let endToEnd {
            print(
                String(
                    format: "end to end, %d MiB, 4+2 over 6 providers: put %.1f MB/s, get %.1f MB/s, identical: %@",
                    endToEndMib, endToEnd.putMBps, endToEnd.getMBps, endToEnd.identical ? "yes" : "NO"))
        } else {
            print("end to end: not run (--end-to-end-mib N)")
        }
    }
}
