/// Bounds that a `CanonicalDecoder` enforces on input from outside.
public struct CanonicalLimits: Sendable, Equatable {
    /// Largest whole input accepted, in bytes.
    public var inputBytesMax: Int
    /// Largest length prefix of one byte string or string.
    public var fieldBytesMax: Int
    /// Largest element count of one array or map.
    public var elementsMax: Int
    /// Deepest nesting of arrays, maps, optionals and composite values.
    public var depthMax: Int

    /// Creates limits; every value must be positive.
    public init(inputBytesMax: Int, fieldBytesMax: Int, elementsMax: Int, depthMax: Int) {
        precondition(inputBytesMax > 0)
        precondition(fieldBytesMax > 0 && elementsMax > 0 && depthMax > 0)
        self.inputBytesMax = inputBytesMax
        self.fieldBytesMax = fieldBytesMax
        self.elementsMax = elementsMax
        self.depthMax = depthMax
    }

    /// 4 MiB input, 4 MiB fields, 65,536 elements, 32 levels: generous for transactions and blocks.
    public static let `default` = CanonicalLimits(
        inputBytesMax: 4 << 20, fieldBytesMax: 4 << 20, elementsMax: 1 << 16, depthMax: 32)
}
