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
