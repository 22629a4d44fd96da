public import MeshCore

/// What a signer asks the ledger to do: `{chainId, signer, nonce, fee, messages[]}`.
///
/// Canonical bytes: `string(chainId) ‖ DID(signer) ‖ varint(nonce) ‖ varint(fee) ‖
/// varint(count) ‖ message…`, each message as `varint(type) ‖ bytes(body)` so that an unknown
/// type is recognised as such rather than as garbage.
public struct Transaction: Sendable, Hashable {
    /// The chain this transaction is for; other chains reject it.
    public var chainId: String
    /// The account that pays the fee and on whose authority the messages act.
    public var signer: DID
    /// The signer's next nonce (0 for its first transaction); each is used exactly once.
    public var nonce: UInt64
    /// Fee in base units, paid even if a message fails.
    public var fee: UInt64
    /// What to do, in order; all or none take effect.
    public var messages: [Message]

    /// All fields.
    public init(chainId: String, signer: DID, nonce: UInt64, fee: UInt64, messages: [Message]) {
        self.chainId = chainId
        self.signer = signer
        self.nonce = nonce
        self.fee = fee
        self.messages = messages
    }

    /// Signs with `key` under `meshwork/tx/v1`.
    public func signed(with key: Ed25519.PrivateKey) -> SignedTransaction {
        SignedTransaction(
            body: self, publicKey: key.publicKey, signature: key.sign(canonicalBytes, domain: .transaction))
    }
}

/// A transaction with the key that signed it and the signature.
///
/// Canonical bytes: `bytes(body) ‖ key(32) ‖ signature(64)`. The body is kept as the exact
/// bytes that were signed.
public struct SignedTransaction: Sendable, Hashable {
    /// The transaction.
    public var body: Transaction
    /// The signing key; must be a current key of `body.signer`.
    public var publicKey: Ed25519.PublicKey
    /// Ed25519 over the body's canonical bytes, domain `meshwork/tx/v1`.
    public var signature: Ed25519.Signature

    /// All fields.
    public init(body: Transaction, publicKey: Ed25519.PublicKey, signature: Ed25519.Signature) {
        self.body = body
        self.publicKey = publicKey
        self.signature = signature
    }

    /// Whether the signature is valid for the body under `publicKey` (not whether the key may sign).
    public var hasValidSignature: Bool {
        publicKey.isValidSignature(signature, for: body.canonicalBytes, domain: .transaction)
    }
}

extension Transaction: CanonicalCodable {
    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeString(chainId)
        encoder.write(signer)
        encoder.writeVarint(nonce)
        encoder.writeVarint(fee)
        encoder.writeVarint(UInt64(messages.count))
        for message in messages {
            encoder.writeVarint(message.typeNumber)
            encoder.writeBytes(message.bodyBytes)
        }
    }

    /// Decodes; an unknown message type decodes as `Message.unknown` for the ledger to reject.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        chainId = try decoder.readString()
        signer = try decoder.read(DID.self)
        nonce = try decoder.readVarint()
        fee = try decoder.readVarint()
        let countOffset = decoder.offset
        let count = try decoder.readVarint()
        guard count <= UInt64(decoder.limits.elementsMax) else {
            throw .lengthExceedsLimit(offset: countOffset, length: count, limit: decoder.limits.elementsMax)
        }
        messages = []
        for _ in 0..<count {
            let type = try decoder.readVarint()
            let body = try decoder.readBytes()
            messages.append(try Message(typeNumber: type, body: body, limits: decoder.limits))
        }
    }
}

extension SignedTransaction: CanonicalCodable {
    /// See the type's documentation.
    public func encode(to encoder: inout CanonicalEncoder) {
        encoder.writeBytes(body.canonicalBytes)
        encoder.write(publicKey)
        encoder.write(signature)
    }

    /// See the type's documentation.
    public init(from decoder: inout CanonicalDecoder) throws(CanonicalDecodingError) {
        let bodyBytes = try decoder.readBytes()
        body = try Transaction(canonicalBytes: bodyBytes, limits: decoder.limits)
        publicKey = try decoder.read(Ed25519.PublicKey.self)
        signature = try decoder.read(Ed25519.Signature.self)
    }
}
