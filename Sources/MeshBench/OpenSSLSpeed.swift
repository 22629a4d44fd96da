import Foundation

/// Runs `openssl speed` as the named peer and reads its table.
enum OpenSSLSpeed {
    static func run(seconds: Int) -> CoreBenchmark.PeerFigures? {
        guard let version = execute(["openssl", "version"]) else { return nil }
        var figures = CoreBenchmark.PeerFigures(name: version.trimmingCharacters(in: .whitespacesAndNewlines))
        if let output = execute(["openssl", "speed", "-seconds", String(seconds), "ed25519"]) {
            // "253 bits EdDSA (Ed25519)   0.0000s   0.0001s  42000.0  14000.0"
            if let line = output.split(separator: "\n").last(where: { $0.contains("Ed25519") && $0.contains("bits") }) {
                let numbers = line.split(separator: " ").compactMap { Double($0) }
                if numbers.count >= 3 {
                    figures.ed25519SignPerSecond = numbers[numbers.count - 2]
                    figures.ed25519VerifyPerSecond = numbers[numbers.count - 1]
                }
            }
        }
        if let output = execute(["openssl", "speed", "-seconds", String(seconds), "-bytes", "64", "sha256"]) {
            figures.sha256MegabytesPerSecond64B = kilobytesRate(output)
        }
        if let output = execute(["openssl", "speed", "-seconds", String(seconds), "-bytes", "16384", "sha256"]) {
            figures.sha256MegabytesPerSecond16KiB = kilobytesRate(output)
        }
        return figures
    }

    /// The last figure on the `sha256` row, given in thousands of bytes per second ("123456.78k").
    private static func kilobytesRate(_ output: String) -> Double? {
        guard let row = output.split(separator: "\n").last(where: { $0.hasPrefix("sha256") }) else { return nil }
        guard let last = row.split(separator: " ").last, last.hasSuffix("k"), let value = Double(last.dropLast()) else {
            return nil
        }
        return value / 1000
    }

    private static func execute(_ arguments: [String]) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            return nil
        }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}
