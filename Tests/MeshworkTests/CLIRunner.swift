import Foundation
import Testing

/// Runs the built `meshwork` executable as a real process.
struct CLIRunner {
    struct Result {
        var status: Int32
        var reason: Process.TerminationReason
        var stdout: String
        var stderr: String
    }

    let home: String

    init() throws {
        home = NSTemporaryDirectory() + "meshwork-cli-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
    }

    /// The `meshwork` binary beside the test bundle in the build directory.
    static var executable: URL {
        let testBinary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var directory = testBinary.deletingLastPathComponent()
        // On Linux the bundle is `<build>/<Package>PackageTests.xctest`; elsewhere it may be nested.
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("meshwork").path),
            directory.pathComponents.count > 1
        {
            directory = directory.deletingLastPathComponent()
        }
        return directory.appendingPathComponent("meshwork")
    }

    @discardableResult
    func run(_ arguments: [String], environment extra: [String: String] = [:], withHome: Bool = true) throws -> Result {
        let process = Process()
        process.executableURL = CLIRunner.executable
        process.arguments = arguments + (withHome ? ["--home", home] : [])
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "MESHWORK_PASSPHRASE")
        environment.removeValue(forKey: "MESHWORK_HOME")
        for (key, value) in extra { environment[key] = value }
        process.environment = environment
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let outData = output.fileHandleForReading.readDataToEndOfFile()
        let errData = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, reason: process.terminationReason,
            stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
    }

    func json(_ result: Result) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    }
}
