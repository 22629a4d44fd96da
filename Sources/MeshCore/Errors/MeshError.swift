/// An error with a stable `(module, code)` pair and a sentence a person can act on.
///
/// Codes never change meaning once released; new failures get new codes. The module
/// README lists every code.
public protocol MeshError: Error, CustomStringConvertible, Sendable {
    /// The module that owns the code, e.g. `core`, `bank`, `identity`.
    var module: String { get }
    /// The stable numeric code within `module`.
    var code: UInt32 { get }
    /// One readable sentence that says what was wrong.
    var message: String { get }
}

extension MeshError {
    /// `module/code: message`, the form printed by the CLI.
    public var description: String { "\(module)/\(code): \(message)" }
}
