import Foundation

/// zfec (PyPI), the peer of the erasure benchmark: run by `python3` on the same shards, one core.
enum ZfecPeer {
    /// Encodes only the m parity blocks; decodes the k data blocks from blocks m..<k+m (the first m
    /// data blocks lost), checking the result once before timing it.
    static let script = """
        import json, sys, time, zfec
        k, m, shard, seconds, path = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
        data = open(path, "rb").read()
        blocks = [data[i * shard:(i + 1) * shard] for i in range(k)]
        encoder, decoder = zfec.Encoder(k, k + m), zfec.Decoder(k, k + m)
        def rate(call):
            call()
            start, calls = time.perf_counter(), 0
            while True:
                call()
                calls += 1
                elapsed = time.perf_counter() - start
                if elapsed >= seconds:
                    return calls / elapsed
        encode = rate(lambda: encoder.encode(blocks, list(range(k, k + m))))
        every = encoder.encode(blocks)
        numbers = list(range(m, k + m))
        survivors = [every[i] for i in numbers]
        assert b"".join(decoder.decode(survivors, numbers)) == data, "zfec did not rebuild the data"
        decode = rate(lambda: decoder.decode(survivors, numbers))
        print(json.dumps({"version": zfec.__version__, "encode": encode * k * shard / 1e9, "decode": decode * k * shard / 1e9}))
        """

    enum Failure: Error { case notRun(String) }

    /// zfec's name and rates on `data` (k shards) for a k+m code.
    static func measure(
        k: Int, m: Int, data: [[UInt8]], seconds: Double
    ) throws -> (
        String, ErasureBenchmark.RateFigures
    ) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("meshwork-zfec-\(getpid()).bin")
        defer { try? FileManager.default.removeItem(at: path) }
        try Data(data.joined()).write(to: path)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, "\(k)", "\(m)", "\(data[0].count)", "\(seconds)", path.path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let bytes = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure.notRun("python3 zfec exited \(process.terminationStatus)")
        }
        struct Answer: Decodable {
            var version: String
            var encode: Double
            var decode: Double
        }
        let answer = try JSONDecoder().decode(Answer.self, from: bytes)
        return ("zfec \(answer.version)", .init(encodeGBps: answer.encode, decodeGBps: answer.decode))
    }
}
