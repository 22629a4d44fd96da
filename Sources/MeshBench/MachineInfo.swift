import Foundation

/// What a benchmark ran on, recorded beside its figures.
public struct MachineInfo: Codable, Sendable {
    /// CPU model name from /proc/cpuinfo.
    public var cpu: String
    /// Logical cores available.
    public var cores: Int
    /// Kernel and OS.
    public var system: String
    /// `release` or `debug`.
    public var build: String

    /// This machine.
    public static var current: MachineInfo {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model =
            cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .flatMap { $0.split(separator: ":", maxSplits: 1).last }
            .map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown"
        #if DEBUG
            let build = "debug"
        #else
            let build = "release"
        #endif
        return MachineInfo(
            cpu: model, cores: ProcessInfo.processInfo.activeProcessorCount,
            system: ProcessInfo.processInfo.operatingSystemVersionString, build: build)
    }
}
