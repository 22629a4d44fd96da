import WasmKit

/// The state of one guest call shared by its host functions: the memory, the message in and the
/// answer out, and the first failure a host function hit (so it wins over the trap it causes).
final class CallContext {
    var memory: Memory?
    var failure: GuestFailure?
    var result: [UInt8] = []
    let resultBytesMax: Int

    init(resultBytesMax: Int) { self.resultBytesMax = resultBytesMax }

    /// Ends the call with `failure` (kept if it is the first).
    func fail(_ failure: GuestFailure) -> GuestFailure {
        if self.failure == nil { self.failure = failure }
        return failure
    }

    /// Charges `amount` fuel; runs the call out of fuel when the budget cannot pay.
    func charge(_ caller: borrowing Caller, _ amount: UInt64) throws {
        guard var fuel = caller.store.fuel else { return }
        guard fuel.remaining >= amount else {
            fuel.remaining = 0
            caller.store.fuel = fuel
            throw fail(.outOfFuel)
        }
        fuel.remaining -= amount
        caller.store.fuel = fuel
    }

    /// `count` bytes of guest memory at `pointer`, checked against its size.
    func read(_ pointer: Value, _ count: Value) throws -> [UInt8] {
        let (start, length) = try range(pointer, count)
        guard let memory else { throw fail(.trap("the module has no memory")) }
        return memory.withUnsafeBufferPointer(offset: UInt(start), count: length) { Array($0) }
    }

    /// Writes `bytes` at `pointer`, checked against the memory's size.
    func write(_ bytes: some Collection<UInt8>, at pointer: Value) throws {
        let (start, length) = try range(pointer, .i32(UInt32(truncatingIfNeeded: bytes.count)))
        guard let memory else { throw fail(.trap("the module has no memory")) }
        memory.withUnsafeMutableBufferPointer(offset: UInt(start), count: length) { buffer in
            buffer.copyBytes(from: bytes)
        }
    }

    private func range(_ pointer: Value, _ count: Value) throws -> (Int, Int) {
        guard case .i32(let start) = pointer, case .i32(let length) = count else {
            throw fail(.trap("a host function got a non-i32 address"))
        }
        let size = memory?.byteCount ?? 0
        guard Int(start) + Int(length) <= size else {
            throw fail(.trap("host access [\(start), +\(length)) is outside the memory (\(size) bytes)"))
        }
        return (Int(start), Int(length))
    }
}

/// How a guest call failed, before the ledger or the provider names it.
public enum GuestFailure: Error, Sendable, Equatable {
    /// The fuel ran out.
    case outOfFuel
    /// A trap, with WasmKit's or the host's reason.
    case trap(String)
    /// The guest ended the call on purpose (`abort`, or a nonzero return).
    case aborted(String)
    /// Memory growth past the cap.
    case memoryCap(pagesMax: Int)
    /// The module does not instantiate or lacks the export.
    case badModule(String)
    /// The host's own store failed (not the guest's fault).
    case hostFailed(String)
}
