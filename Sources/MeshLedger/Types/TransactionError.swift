public import MeshCore

/// Why a transaction was refused before its messages ran. Module `tx`.
public enum TransactionError: MeshError, Equatable {
    /// Larger than `transactionBytesMax`.
    case oversize(bytes: Int, limit: UInt64)
    /// The bytes are not a canonical signed transaction.
    case malformed(String)
    /// Made for another chain.
    case wrongChain(expected: String, got: String)
    /// No messages, or more than `messagesPerTransactionMax`.
    case messageCount(count: Int, limit: UInt64)
    /// The signature does not verify for the body and key.
    case badSignature
    /// The signing key is not a current key of the signer.
    case keyNotAuthorized(signer: String)
    /// The signer is a did:mesh that was never registered.
    case unknownSigner(String)
    /// The signer's DID is deactivated.
    case signerDeactivated(String)
    /// The nonce was already used.
    case replayedNonce(expected: UInt64, got: UInt64)
    /// The nonce skips ahead.
    case skippedNonce(expected: UInt64, got: UInt64)
    /// The fee is below `feeMin`.
    case feeTooLow(fee: UInt64, minimum: UInt64)
    /// The signer cannot pay the fee.
    case insufficientFee(balance: UInt64, fee: UInt64)
    /// A message type this ledger does not know.
    case unknownMessageType(UInt64)
    /// The amounts in the transaction add up past 2^64 - 1.
    case amountOverflow

    /// `tx`.
    public var module: String { "tx" }

    /// Stable codes; see `Sources/MeshLedger/README.md`.
    public var code: UInt32 {
        switch self {
        case .oversize: 1
        case .malformed: 2
        case .wrongChain: 3
        case .messageCount: 4
        case .badSignature: 5
        case .keyNotAuthorized: 6
        case .unknownSigner: 7
        case .signerDeactivated: 8
        case .replayedNonce: 9
        case .skippedNonce: 10
        case .feeTooLow: 11
        case .insufficientFee: 12
        case .unknownMessageType: 13
        case .amountOverflow: 14
        }
    }

    /// One sentence.
    public var message: String {
        switch self {
        case .oversize(let bytes, let limit): "the transaction is \(bytes) bytes; at most \(limit) are accepted"
        case .malformed(let detail): "the transaction bytes are malformed: \(detail)"
        case .wrongChain(let expected, let got): "the transaction is for chain '\(got)', this is '\(expected)'"
        case .messageCount(let count, let limit): "the transaction has \(count) messages; it needs 1 to \(limit)"
        case .badSignature: "the signature does not verify"
        case .keyNotAuthorized(let signer): "the signing key is not a current key of \(signer)"
        case .unknownSigner(let signer): "\(signer) is not registered"
        case .signerDeactivated(let signer): "\(signer) is deactivated and can sign nothing"
        case .replayedNonce(let expected, let got): "nonce \(got) was already used; the next nonce is \(expected)"
        case .skippedNonce(let expected, let got): "nonce \(got) skips ahead; the next nonce is \(expected)"
        case .feeTooLow(let fee, let minimum): "the fee \(fee) is below the minimum \(minimum)"
        case .insufficientFee(let balance, let fee): "the balance \(balance) cannot pay the fee \(fee)"
        case .unknownMessageType(let type): "message type \(type) is unknown"
        case .amountOverflow: "the amounts in the transaction add up past 2^64 - 1"
        }
    }
}
