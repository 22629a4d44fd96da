import MeshLedger
import WasmKit

/// The host functions a contract imports from module `mesh` (byte by byte in `README.md`).
enum ContractABI {
    /// Each function's WebAssembly signature; `ModuleCheck` holds imports to these.
    static let signatures: [String: FunctionType] = [
        "msg_len": FunctionType(parameters: [], results: [.i32]),
        "msg_read": FunctionType(parameters: [.i32], results: []),
        "result_write": FunctionType(parameters: [.i32, .i32], results: []),
        "state_get": FunctionType(parameters: [.i32, .i32, .i32, .i32], results: [.i32]),
        "state_set": FunctionType(parameters: [.i32, .i32, .i32, .i32], results: []),
        "state_remove": FunctionType(parameters: [.i32, .i32], results: []),
        "caller": FunctionType(parameters: [.i32, .i32], results: [.i32]),
        "self_address": FunctionType(parameters: [.i32, .i32], results: [.i32]),
        "funds": FunctionType(parameters: [], results: [.i64]),
        "balance": FunctionType(parameters: [], results: [.i64]),
        "height": FunctionType(parameters: [], results: [.i64]),
        "time_ms": FunctionType(parameters: [], results: [.i64]),
        "transfer": FunctionType(parameters: [.i32, .i32, .i64], results: [.i32]),
        "policy_allowed": FunctionType(parameters: [.i32, .i32, .i32, .i32, .i32, .i32], results: [.i32]),
        "emit": FunctionType(parameters: [.i32, .i32], results: []),
        "abort": FunctionType(parameters: [.i32, .i32], results: []),
    ]

    /// The functions for one call, bound to `host` and `context`.
    static func imports(
        store: Store, message: [UInt8], host: any ContractHost, context: CallContext
    ) -> Imports {
        var imports = Imports()
        func define(_ name: String, _ body: @escaping (borrowing Caller, [Value]) throws -> [Value]) {
            guard let type = signatures[name] else { preconditionFailure("no signature for \(name)") }
            imports.define(
                module: "mesh", name: name,
                Function(store: store, type: type) { caller, arguments in
                    try context.charge(caller, FuelCosts.hostCall)
                    return try body(caller, arguments)
                })
        }
        define("msg_len") { _, _ in [.i32(UInt32(message.count))] }
        define("msg_read") { caller, arguments in
            try context.charge(caller, UInt64(message.count) * FuelCosts.perByte)
            try context.write(message, at: arguments[0])
            return []
        }
        define("result_write") { caller, arguments in
            let bytes = try context.read(arguments[0], arguments[1])
            try context.charge(caller, UInt64(bytes.count) * FuelCosts.perByte)
            guard bytes.count <= context.resultBytesMax else {
                throw context.fail(.trap("result_write of \(bytes.count) bytes; at most \(context.resultBytesMax)"))
            }
            context.result = bytes
            return []
        }
        defineState(define, host: host, context: context)
        defineAccount(define, host: host, context: context)
        define("abort") { _, arguments in
            let bytes = try context.read(arguments[0], .i32(min(arguments[1].i32, 256)))
            throw context.fail(.aborted(String(decoding: bytes, as: UTF8.self)))
        }
        return imports
    }

    typealias Define = (String, @escaping (borrowing Caller, [Value]) throws -> [Value]) -> Void

    private static func defineState(_ define: Define, host: any ContractHost, context: CallContext) {
        define("state_get") { caller, arguments in
            try context.charge(caller, FuelCosts.stateRead)
            let key = try context.read(arguments[0], arguments[1])
            guard let value = try hosted(context, { try host.stateGet(key) }) else {
                return [.i32(UInt32(bitPattern: -1))]
            }
            let room = Int(arguments[3].i32)
            try context.charge(caller, UInt64(value.count) * FuelCosts.perByte)
            try context.write(value.prefix(room), at: arguments[2])
            return [.i32(UInt32(value.count))]
        }
        define("state_set") { caller, arguments in
            let key = try context.read(arguments[0], arguments[1])
            let value = try context.read(arguments[2], arguments[3])
            let bytes = UInt64(key.count + value.count)
            try context.charge(caller, FuelCosts.stateWrite + bytes * (FuelCosts.perByte + FuelCosts.stateWritePerByte))
            try hosted(context) { try host.stateSet(key, value) }
            return []
        }
        define("state_remove") { caller, arguments in
            try context.charge(caller, FuelCosts.stateWrite)
            let key = try context.read(arguments[0], arguments[1])
            try hosted(context) { try host.stateRemove(key) }
            return []
        }
    }

    private static func defineAccount(_ define: Define, host: any ContractHost, context: CallContext) {
        func string(_ text: String, _ arguments: [Value]) throws -> [Value] {
            let bytes = Array(text.utf8)
            try context.write(bytes.prefix(Int(arguments[1].i32)), at: arguments[0])
            return [.i32(UInt32(bytes.count))]
        }
        define("caller") { _, arguments in try string(host.caller, arguments) }
        define("self_address") { _, arguments in try string(host.contract, arguments) }
        define("funds") { _, _ in [.i64(host.funds)] }
        define("balance") { _, _ in [.i64(try hosted(context) { try host.balance() })] }
        define("height") { _, _ in [.i64(host.height)] }
        define("time_ms") { _, _ in [.i64(host.timeMs)] }
        define("transfer") { caller, arguments in
            try context.charge(caller, FuelCosts.transfer)
            let to = try context.read(arguments[0], .i32(min(arguments[1].i32, 128)))
            let status = try hosted(context) {
                try host.transfer(to: String(decoding: to, as: UTF8.self), amount: arguments[2].i64)
            }
            return [.i32(UInt32(bitPattern: status))]
        }
        define("policy_allowed") { caller, arguments in
            try context.charge(caller, FuelCosts.policyCheck)
            let subject = try context.read(arguments[0], .i32(min(arguments[1].i32, 128)))
            let action = try context.read(arguments[2], .i32(min(arguments[3].i32, 64)))
            let resource = try context.read(arguments[4], .i32(min(arguments[5].i32, 256)))
            let allowed = try hosted(context) {
                try host.policyAllowed(
                    subject: String(decoding: subject, as: UTF8.self), action: String(decoding: action, as: UTF8.self),
                    resource: String(decoding: resource, as: UTF8.self))
            }
            return [.i32(UInt32(bitPattern: allowed))]
        }
        define("emit") { caller, arguments in
            let bytes = try context.read(arguments[0], .i32(min(arguments[1].i32, 256)))
            try context.charge(caller, FuelCosts.emit + UInt64(bytes.count) * FuelCosts.perByte)
            host.emit(String(decoding: bytes, as: UTF8.self))
            return []
        }
    }

    /// Runs a host call; its refusal becomes a trap, a storage failure a host failure.
    private static func hosted<T>(_ context: CallContext, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as StateError {
            throw context.fail(.hostFailed(error.description))
        } catch {
            throw context.fail(.trap(String(describing: error)))
        }
    }
}
