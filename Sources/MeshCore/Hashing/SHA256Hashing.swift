import Crypto

extension Hash256 {
    /// SHA-256 of `bytes`.
    public static func sha256(_ bytes: some Collection<UInt8>) -> Hash256 {
        var hasher = Hasher()
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// SHA-256 of the bytes at `pointer`.
    public static func sha256(bufferPointer pointer: UnsafeRawBufferPointer) -> Hash256 {
        var hasher = Hasher()
        hasher.update(bufferPointer: pointer)
        return hasher.finalize()
    }

    /// Incremental SHA-256 for streams: files, objects, anything not held whole in memory.
    public struct Hasher: Sendable {
        private var state = SHA256()

        /// A hasher with nothing absorbed.
        public init() {}

        /// Absorbs `bytes`.
        public mutating func update(_ bytes: some Collection<UInt8>) {
            let handled: Void? = bytes.withContiguousStorageIfAvailable { buffer in
                state.update(bufferPointer: UnsafeRawBufferPointer(buffer))
            }
            if handled == nil { Array(bytes).withUnsafeBytes { state.update(bufferPointer: $0) } }
        }

        /// Absorbs the bytes at `pointer`.
        public mutating func update(bufferPointer pointer: UnsafeRawBufferPointer) {
            state.update(bufferPointer: pointer)
        }

        /// The digest of everything absorbed.
        public func finalize() -> Hash256 {
            state.finalize().withUnsafeBytes { Hash256(unsafeBytes: $0) }
        }
    }
}
