/// A min-heap of timed events; equal times pop in insertion order, so a run is a pure
/// function of its seed.
struct EventQueue<Payload> {
    private var heap = BinaryHeap<(time: UInt64, sequence: UInt64, payload: Payload)> { lhs, rhs in
        lhs.time != rhs.time ? lhs.time < rhs.time : lhs.sequence < rhs.sequence
    }
    private var nextSequence: UInt64 = 0

    var isEmpty: Bool { heap.isEmpty }
    var count: Int { heap.count }

    mutating func push(_ payload: Payload, at time: UInt64) {
        heap.push((time, nextSequence, payload))
        nextSequence += 1
    }

    mutating func pop() -> (time: UInt64, payload: Payload)? {
        heap.pop().map { ($0.time, $0.payload) }
    }
}
