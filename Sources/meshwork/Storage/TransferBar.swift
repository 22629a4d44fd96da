import Foundation
import MeshAPI
import MeshSDK

/// A progress bar on standard error for long transfers: phase, bytes, rate and ETA. On a
/// terminal it redraws in place; otherwise it prints a line at each quarter.
final class TransferBar: @unchecked Sendable {
    private let lock = NSLock()
    private let interactive = isatty(STDERR_FILENO) == 1
    private var phase = ""
    private var phaseStart = Date()
    private var lastDraw = Date.distantPast
    private var lastQuarter = -1

    /// Takes a progress report (from any thread).
    func report(_ progress: TransferProgress) {
        lock.withLock {
            let now = Date()
            if progress.phase != phase {
                if interactive, !phase.isEmpty { FileHandle.standardError.write(Data("\n".utf8)) }
                phase = progress.phase
                phaseStart = now
                lastQuarter = -1
            }
            let fraction = progress.total == 0 ? 1 : min(1, Double(progress.done) / Double(progress.total))
            let elapsed = max(0.001, now.timeIntervalSince(phaseStart))
            let rate = Double(progress.done) / elapsed
            let eta = rate > 0 ? Double(progress.total - min(progress.total, progress.done)) / rate : 0
            let line = String(
                format: "%@ [%@%@] %@ / %@  %@/s  ETA %@", phase.padding(toLength: 8, withPad: " ", startingAt: 0),
                String(repeating: "#", count: Int(fraction * 30)),
                String(repeating: " ", count: 30 - Int(fraction * 30)),
                Self.bytes(progress.done), Self.bytes(progress.total), Self.bytes(UInt64(rate)),
                Self.duration(eta))
            if interactive {
                guard now.timeIntervalSince(lastDraw) > 0.1 || fraction >= 1 else { return }
                lastDraw = now
                FileHandle.standardError.write(Data("\r\(line)\u{1B}[K".utf8))
            } else {
                let quarter = Int(fraction * 4)
                guard quarter > lastQuarter else { return }
                lastQuarter = quarter
                FileHandle.standardError.write(Data("\(line)\n".utf8))
            }
        }
    }

    /// Ends the bar's current line.
    func finish() {
        lock.withLock {
            if interactive, !phase.isEmpty { FileHandle.standardError.write(Data("\n".utf8)) }
            phase = ""
        }
    }

    static func bytes(_ count: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format: "%.1f %@", value, units[unit])
    }

    static func duration(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        return String(format: "%d:%02d", total / 60, total % 60)
    }
}

/// Parses sizes like `50GiB`, `64MiB`, `10GB`, `4096`.
func parseBytes(_ text: String) -> UInt64? {
    let units: [(String, UInt64)] = [
        ("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("TB", 1_000_000_000_000),
        ("GB", 1_000_000_000), ("MB", 1_000_000), ("KB", 1000), ("B", 1),
    ]
    let trimmed = text.trimmingCharacters(in: .whitespaces)
    for (suffix, scale) in units where trimmed.hasSuffix(suffix) {
        guard let number = Double(trimmed.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)),
            number >= 0, number * Double(scale) < 1.8e19
        else { return nil }
        return UInt64(number * Double(scale))
    }
    return UInt64(trimmed)
}
