/// A hybrid logical clock stamp (Kulkarni et al., "Logical Physical Clocks", 2014): wall-clock
/// milliseconds, a counter for events within one millisecond or behind a faster peer's clock, and
/// the node that made it, which breaks the last ties. Stamps order every write of a shadow field
/// the same way on every node.
public struct HLCStamp: Sendable, Hashable, Comparable, Codable {
    /// Milliseconds since the Unix epoch (the largest seen, not necessarily this node's clock).
    public var wallMs: UInt64
    /// Events at the same `wallMs`.
    public var counter: UInt32
    /// The node that made the stamp.
    public var node: String

    /// All fields.
    public init(wallMs: UInt64, counter: UInt32, node: String) {
        self.wallMs = wallMs
        self.counter = counter
        self.node = node
    }

    /// By time, then counter, then node id.
    public static func < (lhs: HLCStamp, rhs: HLCStamp) -> Bool {
        (lhs.wallMs, lhs.counter, lhs.node) < (rhs.wallMs, rhs.counter, rhs.node)
    }
}

/// A node's hybrid logical clock: each stamp it makes is after every stamp it made or saw.
public struct HybridClock: Sendable {
    /// The node id written into its stamps.
    public let node: String
    private var wallMs: UInt64 = 0
    private var counter: UInt32 = 0

    /// A clock for `node` that has seen nothing yet.
    public init(node: String) { self.node = node }

    /// A stamp for a local event at `physicalMs`.
    public mutating func now(physicalMs: UInt64) -> HLCStamp {
        if physicalMs > wallMs {
            wallMs = physicalMs
            counter = 0
        } else {
            advanceCounter()
        }
        return HLCStamp(wallMs: wallMs, counter: counter, node: node)
    }

    /// Takes in a stamp seen from another node, so later local stamps come after it.
    public mutating func observe(_ stamp: HLCStamp, physicalMs: UInt64) {
        let top = max(wallMs, stamp.wallMs, physicalMs)
        if top == wallMs, top == stamp.wallMs {
            counter = max(counter, stamp.counter)
            advanceCounter()
        } else if top == wallMs {
            advanceCounter()
        } else if top == stamp.wallMs {
            wallMs = top
            counter = stamp.counter
            advanceCounter()
        } else {
            wallMs = top
            counter = 0
        }
    }

    private mutating func advanceCounter() {
        if counter == UInt32.max {
            // Billions of events in one millisecond: move the clock on instead of wrapping.
            wallMs += 1
            counter = 0
        } else {
            counter += 1
        }
    }
}
