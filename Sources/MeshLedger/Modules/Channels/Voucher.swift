public import MeshCore

/// A payer's signed promise that the payee of `channel` may take up to `cumulativeAmount` in
/// total. Vouchers stay off the ledger until the payee redeems one; each supersedes the ones
/// with lower amounts.
///
/// Signed in `SigningDomain.voucher` over `string(chainId) ‖ varint(channel) ‖
/// varint(cumulativeAmount) ‖ varint(nonce)`. Canonical bytes: those fields ‖ key(32) ‖
/// signature(64). Text form: `mwv1.` followed by the canonical bytes in base64url without padding.
public struct Voucher: Sendable, Hashable, CanonicalCodable {
    /// The chain the channel lives on.
    public var chainId: String
    /// The channel id.
    public var channel: UInt64
    /// Everything the payee may have taken once this voucher is redeemed.
    public var cumulativeAmount: UInt64
    /// The payer's sequence number for its vouchers on this channel (informative: the amount orders them).
    public var nonce: UInt64
    /// The signing key; must be a current key of the channel's payer.
    public var key: Ed25519.PublicKey
    /// Ed25519 over `signedBytes` in `meshwork/voucher/v1`.
    public var signature: Ed25519.Signature

    /// The text form's prefix.
    public static let textPrefix = "mwv1."
    /// Longest text form accepted (a chain id of 64 bytes and three 10-byte varints fit well).
    public static let textBytesMax = 512

    /// All fields.
    public init(
        chainId: String, channel: UInt64, cumulativeAmount: UInt64, nonce: UInt64, key: Ed25519.PublicKey,
        signature: Ed25519.Signature
    ) {
        self.chainId = chainId
        self.channel = channel
        self.cumulativeAmount = cumulativeAmount
        self.nonce = nonce
        self.key = key
        self.signature = signature
    }

    /// Signs a voucher with `key`.
    public static func sign(
        chainId: String, channel: UInt64, cumulativeAmount: UInt64, nonce: UInt64, key: Ed25519.PrivateKey
    ) -> Voucher {
        let bytes = signedBytes(chainId: chainId, channel: channel, cumulativeAmount: cumulativeAmount, nonce: nonce)
        return Voucher(
            chainId: chainId, channel: channel, cumulativeAmount: cumulativeAmount, nonce: nonce, key: key.publicKey,
            signature: key.sign(bytes, domain: .voucher))
    }

    /// The bytes the payer signs.
    public static func signedBytes(
        chainId: String, channel: UInt64, cumulativeAmount: UInt64, nonce: UInt64
    )
        -> [UInt8]
    {
        var encoder = CanonicalEncoder()
        encoder.writeString(chainId)
        encoder.writeVarint(channel)
        encoder.writeVarint(cumulativeAmount)
        encoder.writeVarint(nonce)
        return encoder.bytes
    }

    /// This voucher's signed bytes.
    public var signedBytes: [UInt8] {
        Self.signedBytes(chainId: chainId, channel: channel, cumulativeAmount: cumulativeAmount, nonce: nonce)
    }

    /// Whether the signature verifies under `key` (not whether `key` may sign for the payer).
    public var hasValidSignature: Bool { key.isValidSignature(signature, for: signedBytes, domain: .voucher) }

    /// `mwv1.<base64url>`.
    public var text: String { Self.textPrefix + Base64URL.encode(canonicalBytes) }

    /// Parses the text form; a clear decoding error for anything else (bounded before decoding).
    public init(text: String) throws(CanonicalDecodingError) {
        let trimmed = text.trimmingWhitespace
        guard trimmed.utf8.count <= Self.textBytesMax else {
            throw .inputTooLarge(size: trimmed.utf8.count, limit: Self.textBytesMax)
        }
        guard trimmed.hasPrefix(Self.textPrefix), let bytes = Base64URL.decode(String(trimmed.dropFirst(5))) else {
            throw .invalidValue(offset: 0, reason: "a voucher's text starts with mwv1. and is base64url")
        }
        try self.init(canonicalBytes: bytes)
    }

    /// Parses a voucher as a device publishes it: the text form, or the canonical bytes.
    public init(payload: [UInt8]) throws(CanonicalDecodingError) {
        if payload.starts(with: Array(Self.textPrefix.utf8)) {
            try self.init(text: String(decoding: payload, as: UTF8.self))
        } else {
            try self.init(canonicalBytes: payload)
        }
    }

    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeString(chainId)
        encoder.writeVarint(channel)
        encoder.writeVarint(cumulativeAmount)
        encoder.writeVarint(nonce)
        encoder.write(key)
        encoder.write(signature)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        chainId = try decoder.readString()
        channel = try decoder.readVarint()
        cumulativeAmount = try decoder.readVarint()
        nonce = try decoder.readVarint()
        key = try decoder.read(Ed25519.PublicKey.self)
        signature = try decoder.read(Ed25519.Signature.self)
    }
}

extension String {
    fileprivate var trimmingWhitespace: Substring {
        var view = Substring(self)
        while let first = view.first, first.isWhitespace { view.removeFirst() }
        while let last = view.last, last.isWhitespace { view.removeLast() }
        return view
    }
}
