import WasmKit

/// The host functions a compute job imports from module `mesh_job`: its inputs to read, one
/// output to append to, and nothing else (no clock, no network, no files).
enum JobABI {
    /// Each function's WebAssembly signature.
    static let signatures: [String: FunctionType] = [
        "input_count": FunctionType(parameters: [], results: [.i32]),
        "input_len": FunctionType(parameters: [.i32], results: [.i32]),
        "input_read": FunctionType(parameters: [.i32, .i32], results: [.i32]),
        "output_write": FunctionType(parameters: [.i32, .i32], results: []),
    ]

    /// The functions for one run over `inputs`, appending to `context.result`.
    static func imports(store: Store, inputs: [[UInt8]], outputBytesMax: Int, context: CallContext) -> Imports {
        var imports = Imports()
        func define(_ name: String, _ body: @escaping (borrowing Caller, [Value]) throws -> [Value]) {
            guard let type = signatures[name] else { preconditionFailure("no signature for \(name)") }
            imports.define(
                module: "mesh_job", name: name,
                Function(store: store, type: type) { caller, arguments in
                    try context.charge(caller, FuelCosts.hostCall)
                    return try body(caller, arguments)
                })
        }
        let minusOne = Value.i32(UInt32(bitPattern: -1))
        define("input_count") { _, _ in [.i32(UInt32(inputs.count))] }
        define("input_len") { _, arguments in
            let index = Int(arguments[0].i32)
            return index < inputs.count ? [.i32(UInt32(inputs[index].count))] : [minusOne]
        }
        define("input_read") { caller, arguments in
            let index = Int(arguments[0].i32)
            guard index < inputs.count else { return [minusOne] }
            try context.charge(caller, UInt64(inputs[index].count) * FuelCosts.perByte)
            try context.write(inputs[index], at: arguments[1])
            return [.i32(UInt32(inputs[index].count))]
        }
        define("output_write") { caller, arguments in
            let bytes = try context.read(arguments[0], arguments[1])
            try context.charge(caller, UInt64(bytes.count) * FuelCosts.perByte)
            guard context.result.count + bytes.count <= outputBytesMax else {
                throw context.fail(.trap("the output is over \(outputBytesMax) bytes"))
            }
            context.result += bytes
            return []
        }
        return imports
    }
}
