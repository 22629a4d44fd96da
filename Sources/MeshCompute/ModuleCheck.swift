import WasmKit
import WasmParser

/// Why a module was refused; the text names the rule and, where there is one, the item.
public struct ModuleRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    /// One sentence.
    public let description: String

    init(_ description: String) { self.description = description }
}

/// Checks a module against a profile before it is stored or run: size, structure, imports,
/// exports, memory, and (for the deterministic profile) every type and instruction for floats.
/// Work is linear in the module's bytes; every count is bounded by the profile.
public enum ModuleCheck {
    /// Throws the first rule `bytes` breaks.
    public static func check(_ bytes: [UInt8], profile: WasmProfile) throws(ModuleRefusal) {
        guard bytes.count <= profile.moduleBytesMax else {
            throw ModuleRefusal("the module is \(bytes.count) bytes; the cap is \(profile.moduleBytesMax)")
        }
        guard bytes.count >= 8, Array(bytes[0..<4]) == [0x00, 0x61, 0x73, 0x6D] else {
            throw ModuleRefusal("not a WebAssembly module (no \\0asm header)")
        }
        var parser = Parser(bytes: bytes, features: profile.features)
        var state = State()
        do {
            while let payload = try parser.parseNext() {
                try visit(payload, profile: profile, state: &state)
            }
        } catch let refusal as ModuleRefusal {
            throw refusal
        } catch {
            throw ModuleRefusal("malformed: \(error)")
        }
        try finish(state, profile: profile)
    }

    private struct State {
        var types: [FunctionType?] = []
        var importedFunctions: [UInt32] = []
        var definedFunctions: [UInt32] = []
        var memories: [Limits] = []
        var exports: [String: ExportDescriptor] = [:]
        var sawCode = false
    }

    private static func visit(_ payload: ParsingPayload, profile: WasmProfile, state: inout State) throws {
        switch payload {
        case .typeSection(let groups):
            for group in groups {
                for sub in group.types {
                    guard case .function(let type) = sub.body else {
                        throw ModuleRefusal("only function types are allowed")
                    }
                    if profile.refusesFloats, (type.parameters + type.results).contains(where: isFloat) {
                        throw ModuleRefusal("floats and SIMD are refused: type \(state.types.count) is \(type)")
                    }
                    state.types.append(type)
                }
            }
            try bound(state.types.count, "types", profile)
        case .importSection(let imports):
            for entry in imports { try checkImport(entry, profile: profile, state: &state) }
        case .functionSection(let indices):
            state.definedFunctions = indices
            try bound(indices.count, "functions", profile)
        case .memorySection(let memories):
            state.memories += memories.map(\.type)
        case .globalSection(let globals):
            try bound(globals.count, "globals", profile)
            if profile.refusesFloats, let global = globals.first(where: { isFloat($0.type.valueType) }) {
                throw ModuleRefusal("floats and SIMD are refused: a global is \(global.type.valueType)")
            }
        case .exportSection(let exports):
            for export in exports {
                guard state.exports.updateValue(export.descriptor, forKey: export.name) == nil else {
                    throw ModuleRefusal("export '\(export.name)' appears twice")
                }
            }
        case .startSection:
            throw ModuleRefusal("a start function is refused (calls begin at the named exports)")
        case .codeSection(let codes):
            state.sawCode = true
            try bound(codes.count, "function bodies", profile)
            guard profile.refusesFloats else { return }
            for (index, code) in codes.enumerated() {
                if let local = code.locals.first(where: isFloat) {
                    throw ModuleRefusal("floats and SIMD are refused: function \(index) has a \(local) local")
                }
                try scanForFloats(code, function: index)
            }
        case .tableSection(let tables):
            try bound(tables.count, "tables", profile)
        case .elementSection(let elements):
            try bound(elements.count, "element segments", profile)
        case .dataSection(let data):
            try bound(data.count, "data segments", profile)
        case .tagSection:
            throw ModuleRefusal("exception tags are refused")
        default:
            break
        }
    }

    private static func checkImport(_ entry: Import, profile: WasmProfile, state: inout State) throws {
        guard case .function(let typeIndex) = entry.descriptor else {
            throw ModuleRefusal("import \(entry.module).\(entry.name): only functions may be imported")
        }
        guard entry.module == profile.hostModule, let expected = profile.hostFunctions[entry.name] else {
            throw ModuleRefusal(
                "import \(entry.module).\(entry.name) is not a host function (the host module is '\(profile.hostModule)')"
            )
        }
        guard Int(typeIndex) < state.types.count, state.types[Int(typeIndex)] == expected else {
            throw ModuleRefusal("import \(entry.module).\(entry.name) must have type \(expected)")
        }
        state.importedFunctions.append(typeIndex)
    }

    private static func finish(_ state: State, profile: WasmProfile) throws(ModuleRefusal) {
        guard state.memories.count == 1, let memory = state.memories.first else {
            throw ModuleRefusal("the module must define exactly one memory, not \(state.memories.count)")
        }
        guard !memory.shared, !memory.isMemory64 else { throw ModuleRefusal("shared and 64-bit memories are refused") }
        guard memory.min <= UInt64(profile.memoryPagesMax) else {
            throw ModuleRefusal(
                "the memory starts at \(memory.min) pages; the cap is \(profile.memoryPagesMax) pages of 64 KiB")
        }
        guard case .memory = state.exports["memory"] else { throw ModuleRefusal("missing export 'memory'") }
        let functionTypes = state.importedFunctions + state.definedFunctions
        for (name, expected) in profile.requiredExports.sorted(by: { $0.key < $1.key }) {
            guard case .function(let index) = state.exports[name] else {
                throw ModuleRefusal("missing export '\(name)' (a function of type \(expected))")
            }
            guard Int(index) < functionTypes.count, Int(functionTypes[Int(index)]) < state.types.count,
                state.types[Int(functionTypes[Int(index)])] == expected
            else { throw ModuleRefusal("export '\(name)' must have type \(expected)") }
        }
    }

    private static func bound(_ count: Int, _ what: String, _ profile: WasmProfile) throws(ModuleRefusal) {
        guard count <= profile.definitionsMax else {
            throw ModuleRefusal("\(count) \(what); at most \(profile.definitionsMax)")
        }
    }

    /// Floats, and v128, whose float lanes reach NaN bits as floats do.
    private static func isFloat(_ type: ValueType) -> Bool { type == .f32 || type == .f64 || type == .v128 }

    private static func scanForFloats(_ code: Code, function: Int) throws {
        var parser = ExpressionParser(code: code)
        var visitor = FloatFinder()
        while let visit = try parser.parse() {
            visit(visitor: &visitor)
            if let found = visitor.found {
                throw ModuleRefusal("floats and SIMD are refused: function \(function) uses \(found)")
            }
        }
    }
}

/// Notes the first float or SIMD instruction it is shown.
private struct FloatFinder: AnyInstructionVisitor {
    typealias VisitorError = Never
    var binaryOffset: Int = 0
    var found: String?

    mutating func visit(_ instruction: Instruction) {
        guard found == nil else { return }
        switch instruction {
        case .f32Const: found = "f32.const"
        case .f64Const: found = "f64.const"
        // SIMD is refused whole: WasmKit decodes it whatever the feature set, and its float lanes
        // produce NaN bits that differ between x86-64 and arm64.
        case .v128Const: found = "v128.const"
        case .i8x16Shuffle: found = "i8x16.shuffle"
        case .simd(let simd): found = "simd \(simd)"
        case .simdLane(let simd, _): found = "simd \(simd)"
        case .simdMemLane(let simd, _, _): found = "simd \(simd)"
        case .load(let load, _): check("\(load)")
        case .store(let store, _): check("\(store)")
        case .cmp(let cmp): check("\(cmp)")
        case .unary(let unary): check("\(unary)")
        case .binary(let binary): check("\(binary)")
        case .conversion(let conversion): check("\(conversion)")
        case .typedSelect(let type): if type == .f32 || type == .f64 || type == .v128 { found = "select \(type)" }
        default: break
        }
    }

    private mutating func check(_ name: String) {
        let lowered = name.lowercased()
        if lowered.contains("f32") || lowered.contains("f64") || lowered.hasPrefix("v128") { found = name }
    }
}
