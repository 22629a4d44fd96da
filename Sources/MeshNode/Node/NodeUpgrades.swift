import Foundation
public import MeshLedger

/// What a node does at a governance upgrade plan's height: run the migration this binary
/// registered for it, or stop with one line and a distinct exit status (Cosmos' "UPGRADE NEEDED").
public enum NodeUpgrades {
    /// The exit status of a node that reached an upgrade it has no handler for.
    public static let exitStatus: Int32 = 3
    /// Names whose migration is empty, for tests of the upgrade path with the same binary
    /// (`MESHWORK_UPGRADE_HANDLERS=name[,name…]`). Never set in production.
    public static let testHandlersVariable = "MESHWORK_UPGRADE_HANDLERS"

    /// The migrations of this binary, by upgrade name: none yet, plus the test-only empty ones.
    static func handlers(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> [String: UpgradeHandler] {
        var handlers: [String: UpgradeHandler] = [:]
        for name in (environment[testHandlersVariable] ?? "").split(separator: ",") {
            let trimmed = name.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty else { continue }
            handlers[trimmed] = { _ in }
        }
        return handlers
    }

    /// Prints the line on standard error and exits. Everything committed is on disk; the block at the plan's height is stored, so the next
    /// binary replays it with its migration.
    static func stop(_ needed: UpgradeNeeded) -> Never {
        let line = Data((needed.description + "\n").utf8)
        FileHandle.standardError.write(line)
        exit(exitStatus)
    }
}
