import ArgumentParser
import Foundation

/// `--home`, shared by every command.
struct HomeOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp("Meshwork home directory (default: $MESHWORK_HOME, else ~/.meshwork).", valueName: "dir"))
    var home: String?

    /// The directory in force: the flag, then `MESHWORK_HOME`, then `~/.meshwork`.
    var directory: String {
        if let home, !home.isEmpty { return (home as NSString).expandingTildeInPath }
        if let fromEnvironment = ProcessInfo.processInfo.environment["MESHWORK_HOME"], !fromEnvironment.isEmpty {
            return (fromEnvironment as NSString).expandingTildeInPath
        }
        return (NSHomeDirectory() as NSString).appendingPathComponent(".meshwork")
    }
}

/// `--output json|table`.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table
    case json
}

/// Writes to standard error, for warnings and progress that must not mix with results.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Pretty JSON with sorted keys, as every `--output json` prints it.
func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// Columns padded to their widest cell.
func printTable(_ header: [String], _ rows: [[String]]) {
    let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
    for row in [header] + rows {
        let cells = row.enumerated().map { index, cell in
            index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
        }
        print(cells.joined(separator: "  "))
    }
}

/// A failure while running a command: printed as `Error: <sentence>` without the usage text.
struct CommandFailure: Error, CustomStringConvertible {
    /// The sentence printed.
    let description: String

    init(_ description: String) { self.description = description }
}
