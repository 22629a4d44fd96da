import NIOConcurrencyHelpers
import NIOCore

/// Bounds what peers and clients can make the gateway write to its log: a token bucket of
/// `linesPerSecond` (burst `burst`). Lines past it are counted, not written; the next line
/// written first says how many were suppressed. Without it one peer could turn a 64 KiB frame of
/// empty relay messages into 13,107 log lines (1.3 MB), and a stream of such frames into
/// gigabytes of log.
final class LogLimiter: Sendable {
    private struct State {
        var tokens: Double
        var lastRefillNanos: UInt64
        var suppressed = 0
    }

    let linesPerSecond: Double
    let burst: Double
    private let sink: @Sendable (String) -> Void
    private let state: NIOLockedValueBox<State>
    private let nowNanos: @Sendable () -> UInt64

    init(
        linesPerSecond: Double = 20, burst: Double = 200,
        nowNanos: @escaping @Sendable () -> UInt64 = { NIODeadline.now().uptimeNanoseconds },
        sink: @escaping @Sendable (String) -> Void
    ) {
        self.linesPerSecond = linesPerSecond
        self.burst = burst
        self.sink = sink
        self.nowNanos = nowNanos
        state = NIOLockedValueBox(State(tokens: burst, lastRefillNanos: nowNanos()))
    }

    /// Writes `line` if the bucket allows it.
    func log(_ line: String) {
        let now = nowNanos()
        let (write, suppressed): (Bool, Int) = state.withLockedValue { state in
            let elapsed = Double(now &- state.lastRefillNanos) / 1e9
            state.lastRefillNanos = now
            state.tokens = min(burst, state.tokens + elapsed * linesPerSecond)
            guard state.tokens >= 1 else {
                state.suppressed += 1
                return (false, 0)
            }
            state.tokens -= 1
            defer { state.suppressed = 0 }
            return (true, state.suppressed)
        }
        guard write else { return }
        if suppressed > 0 {
            sink("gateway: \(suppressed) log lines suppressed (more than \(Int(linesPerSecond))/s)")
        }
        sink(line)
    }

    /// Lines counted but not written since the last one written.
    var suppressed: Int { state.withLockedValue { $0.suppressed } }
}
