import Foundation

/// Output helpers shared by the `meshwork` commands and the benchmarks (MeshBench).

/// Writes to standard error, for warnings and progress that must not mix with results.
public func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Pretty JSON with sorted keys, as every `--output json` prints it.
public func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// Columns padded to their widest cell.
public func printTable(_ header: [String], _ rows: [[String]]) {
    let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
    for row in [header] + rows {
        let cells = row.enumerated().map { index, cell in
            index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
        }
        print(cells.joined(separator: "  "))
    }
}

/// A failure while running a command: printed as `Error: <sentence>` without the usage text.
public struct CommandFailure: Error, CustomStringConvertible {
    /// The sentence printed.
    public let description: String

    /// A failure with this sentence.
    public init(_ description: String) { self.description = description }
}
