public import Crypto
public import MeshCore

/// The object's encryption: ChaCha20-Poly1305 under the object's random key.
///
/// Nonces never repeat under one key: segment i uses `00 00 00 00 ‖ u64be(i)`, the manifest
/// `ff ff ff ff ‖ 0…0`. Each segment's associated data binds its index and whether it is the last,
/// so segments cannot be reordered, dropped from the end, or swapped between positions.
public enum ObjectSealing {
    /// Magic of a sealed manifest.
    static let manifestMagic: [UInt8] = Array("MWM1".utf8)
    /// Associated data of the manifest.
    static let manifestContext: [UInt8] = Array("meshwork/manifest/v1".utf8)
    /// Largest sealed manifest accepted: 64 MiB.
    public static let sealedManifestBytesMax = 64 << 20

    static func segmentNonce(_ index: Int) -> ChaChaPoly.Nonce {
        var bytes = [UInt8](repeating: 0, count: 12)
        for shift in 0..<8 { bytes[11 - shift] = UInt8(truncatingIfNeeded: UInt64(index) >> (8 * shift)) }
        // 12 bytes is ChaChaPoly's nonce size, so this cannot fail.
        guard let nonce = try? ChaChaPoly.Nonce(data: bytes) else { preconditionFailure("nonce size") }
        return nonce
    }

    /// `ff ff ff ff ‖ 0…0`: never a segment's nonce.
    static var manifestNonce: ChaChaPoly.Nonce {
        guard
            let nonce = try? ChaChaPoly.Nonce(
                data: [UInt8](repeating: 0xFF, count: 4) + [UInt8](repeating: 0, count: 8))
        else { preconditionFailure("nonce size") }
        return nonce
    }

    static func segmentContext(_ index: Int, last: Bool) -> [UInt8] {
        var context = Array("meshwork/segment/v1".utf8)
        for shift in (0..<8).reversed() { context.append(UInt8(truncatingIfNeeded: UInt64(index) >> (8 * shift))) }
        context.append(last ? 1 : 0)
        return context
    }

    /// Ciphertext ‖ tag of segment `index`.
    public static func sealSegment(_ plaintext: [UInt8], index: Int, last: Bool, key: SymmetricKey) -> [UInt8] {
        precondition(index >= 0)
        do {
            let box = try ChaChaPoly.seal(
                plaintext, using: key, nonce: segmentNonce(index), authenticating: segmentContext(index, last: last))
            return Array(box.ciphertext) + Array(box.tag)
        } catch {
            preconditionFailure("ChaChaPoly.seal with a 256-bit key and a 12-byte nonce failed: \(error)")
        }
    }

    /// The plaintext of a sealed segment, or nil when it does not authenticate.
    public static func openSegment(_ sealed: [UInt8], index: Int, last: Bool, key: SymmetricKey) -> [UInt8]? {
        guard sealed.count >= Manifest.tagBytes else { return nil }
        let split = sealed.count - Manifest.tagBytes
        guard
            let box = try? ChaChaPoly.SealedBox(
                nonce: segmentNonce(index), ciphertext: sealed[..<split], tag: sealed[split...]),
            let plaintext = try? ChaChaPoly.open(box, using: key, authenticating: segmentContext(index, last: last))
        else { return nil }
        return Array(plaintext)
    }

    /// `MWM1` ‖ ciphertext ‖ tag of the manifest's canonical bytes.
    public static func sealManifest(_ manifest: Manifest, key: SymmetricKey) -> [UInt8] {
        do {
            let box = try ChaChaPoly.seal(
                manifest.canonicalBytes, using: key, nonce: manifestNonce, authenticating: manifestContext)
            return manifestMagic + Array(box.ciphertext) + Array(box.tag)
        } catch {
            preconditionFailure("ChaChaPoly.seal with a 256-bit key and a 12-byte nonce failed: \(error)")
        }
    }

    /// The manifest inside `sealed`, checked against `capability` (its CID, then its key), then
    /// decoded and checked for consistency.
    public static func openManifest(_ sealed: [UInt8], capability: ReadCapability) throws(ObjectError) -> Manifest {
        guard sealed.count <= sealedManifestBytesMax else { throw .badManifest("larger than 64 MiB") }
        guard CID.raw(of: sealed) == capability.manifest else { throw .manifestMismatch }
        guard sealed.count >= manifestMagic.count + Manifest.tagBytes, Array(sealed.prefix(4)) == manifestMagic
        else { throw .badManifest("not a sealed manifest (no MWM1 header)") }
        let body = sealed[4...]
        let split = body.endIndex - Manifest.tagBytes
        guard
            let nonce = try? ChaChaPoly.Nonce(
                data: [UInt8](repeating: 0xFF, count: 4) + [UInt8](repeating: 0, count: 8)),
            let box = try? ChaChaPoly.SealedBox(nonce: nonce, ciphertext: body[..<split], tag: body[split...]),
            let plain = try? ChaChaPoly.open(
                box, using: capability.key, authenticating: Array("meshwork/manifest/v1".utf8))
        else { throw .manifestUnreadable }
        let manifest: Manifest
        do {
            manifest = try Manifest(
                canonicalBytes: Array(plain),
                limits: CanonicalLimits(
                    inputBytesMax: sealedManifestBytesMax, fieldBytesMax: 1 << 20, elementsMax: Manifest.segmentsMax,
                    depthMax: 4))
        } catch {
            throw .badManifest("\(error)")
        }
        try manifest.check()
        return manifest
    }
}
