import Crypto
import MeshCore

/// One authenticated, encrypted connection as a pure state machine: bytes in, events out.
///
/// On the wire every Noise message is `length (u16 BE) ‖ message` (Noise caps messages at
/// 65535 bytes). After the XX handshake the decrypted stream carries application messages
/// `channel (u8) ‖ length (u32 BE) ‖ payload`, cut across Noise messages as needed; a message
/// longer than `messageBytesMax` ends the session.
struct SecureSession {
    static let noiseMessageBytesMax = 65535
    static let plaintextChunkBytesMax = noiseMessageBytesMax - NoiseXXHandshake.tagBytes

    enum Event: Equatable {
        case established(nodeKey: Ed25519.PublicKey, listenPort: UInt16)
        case message(channel: UInt8, payload: [UInt8])
    }

    let messageBytesMax: Int
    private let chainId: String
    private let identity: Ed25519.PrivateKey
    private let expected: NodeID?
    private let listenPort: UInt16
    private var handshake: NoiseXXHandshake?
    private var sender: CipherState?
    private var receiver: CipherState?
    private var wireBuffer: [UInt8] = []
    private var plainBuffer: [UInt8] = []
    private(set) var remoteKey: Ed25519.PublicKey?

    init(
        isInitiator: Bool, identity: Ed25519.PrivateKey, chainId: String, expected: NodeID?, listenPort: UInt16,
        messageBytesMax: Int
    ) {
        self.identity = identity
        self.chainId = chainId
        self.expected = expected
        self.listenPort = listenPort
        self.messageBytesMax = messageBytesMax
        let noiseStatic = Curve25519.KeyAgreement.PrivateKey()
        handshake = NoiseXXHandshake(
            isInitiator: isInitiator, localStatic: noiseStatic, prologue: Array("meshwork/p2p/v1".utf8))
        self.noiseStatic = noiseStatic
    }

    private let noiseStatic: Curve25519.KeyAgreement.PrivateKey

    var isEstablished: Bool { sender != nil }

    /// The initiator's first message (nil for the responder).
    mutating func start() throws(P2PError) -> [UInt8]? {
        guard var state = handshake, state.isInitiator else { return nil }
        let message = try wrap { () throws(NoiseError) in try state.writeMessage(payload: []) }
        handshake = state
        return Self.frame(message)
    }

    /// Feeds received bytes; returns bytes to send back and events.
    mutating func receive(_ bytes: [UInt8]) throws(P2PError) -> (reply: [UInt8], events: [Event]) {
        wireBuffer += bytes
        var reply: [UInt8] = []
        var events: [Event] = []
        // Frames are read at an offset and the consumed bytes dropped once, after the loop: one
        // copy per call, not one per frame.
        var offset = 0
        defer { wireBuffer.removeFirst(offset) }
        while wireBuffer.count - offset >= 2 {
            let length = Int(wireBuffer[offset]) << 8 | Int(wireBuffer[offset + 1])
            guard wireBuffer.count - offset >= 2 + length else { break }
            let message = Array(wireBuffer[(offset + 2)..<(offset + 2 + length)])
            offset += 2 + length
            if handshake != nil {
                let (out, event) = try handshakeStep(message)
                reply += out
                if let event { events.append(event) }
            } else {
                guard var cipher = receiver else { throw .decryptFailed }
                let plain = try wrap { () throws(NoiseError) in try cipher.decrypt(message) }
                receiver = cipher
                plainBuffer += plain
                events += try drainMessages()
            }
        }
        return (reply, events)
    }

    /// Encrypts one application message for the wire.
    mutating func seal(channel: UInt8, payload: [UInt8]) throws(P2PError) -> [UInt8] {
        precondition(isEstablished, "send after the handshake")
        guard payload.count <= messageBytesMax else { throw .oversize(payload.count) }
        var plain: [UInt8] = [channel]
        let count = UInt32(payload.count)
        plain += [UInt8(count >> 24), UInt8((count >> 16) & 0xFF), UInt8((count >> 8) & 0xFF), UInt8(count & 0xFF)]
        plain += payload
        return try sealPlaintext(plain)
    }

    /// Encrypts framed plaintext (`channel ‖ u32 length ‖ payload`, any number of them) as
    /// transport messages of at most 64 KiB.
    mutating func sealPlaintext(_ plain: [UInt8]) throws(P2PError) -> [UInt8] {
        guard var cipher = sender else { throw .decryptFailed }
        var out: [UInt8] = []
        var start = 0
        while start < plain.count {
            let end = min(start + Self.plaintextChunkBytesMax, plain.count)
            let chunk = Array(plain[start..<end])
            out += Self.frame(try wrap { () throws(NoiseError) in try cipher.encrypt(chunk) })
            start = end
        }
        sender = cipher
        return out
    }

    private mutating func handshakeStep(_ message: [UInt8]) throws(P2PError) -> ([UInt8], Event?) {
        guard var state = handshake else { return ([], nil) }
        let payload = try wrap { () throws(NoiseError) in try state.readMessage(message) }
        var reply: [UInt8] = []
        // Message 2 (responder) and 3 (initiator) carry the node-key proofs.
        if !payload.isEmpty || state.messageIndex >= 2 { try verify(payload, state: state) }
        if !state.isComplete, state.isOurTurn {
            let ours = try proof(state: state)
            reply = Self.frame(try wrap { () throws(NoiseError) in try state.writeMessage(payload: ours) })
        }
        handshake = state
        guard state.isComplete, let remoteKey else { return (reply, nil) }
        let (send, receive) = state.split()
        sender = send
        receiver = receive
        handshake = nil
        return (reply, .established(nodeKey: remoteKey, listenPort: remotePort))
    }

    private var remotePort: UInt16 = 0

    private func proof(state: NoiseXXHandshake) throws(P2PError) -> [UInt8] {
        let bytes = HandshakePayload.signedBytes(
            noiseStaticKey: [UInt8](noiseStatic.publicKey.rawRepresentation), chainId: chainId)
        return HandshakePayload(
            nodeKey: identity.publicKey, signature: identity.sign(bytes, domain: .nodeHandshake), chainId: chainId,
            listenPort: listenPort
        ).canonicalBytes
    }

    private mutating func verify(_ payload: [UInt8], state: NoiseXXHandshake) throws(P2PError) {
        guard let remoteStatic = state.remoteStatic else { throw .handshakeFailed("no static key") }
        guard let proof = try? HandshakePayload(canonicalBytes: payload) else {
            throw .handshakeFailed("node-key proof does not decode")
        }
        guard proof.chainId == chainId else { throw .wrongChain(proof.chainId) }
        let bytes = HandshakePayload.signedBytes(
            noiseStaticKey: [UInt8](remoteStatic.rawRepresentation), chainId: chainId)
        guard proof.nodeKey.isValidSignature(proof.signature, for: bytes, domain: .nodeHandshake) else {
            throw .handshakeFailed("node-key signature does not verify")
        }
        let actual = NodeID(key: proof.nodeKey)
        if proof.nodeKey == identity.publicKey { throw .selfConnection }
        if let expected, expected != actual { throw .wrongPeer(expected: expected, actual: actual) }
        remoteKey = proof.nodeKey
        remotePort = proof.listenPort
    }

    private mutating func drainMessages() throws(P2PError) -> [Event] {
        var events: [Event] = []
        // As for frames: read at an offset, drop what was read once (a 64 KiB frame of empty
        // messages is 13,107 messages, which per-message shifting would copy 13,107 times).
        var offset = 0
        defer { plainBuffer.removeFirst(offset) }
        while plainBuffer.count - offset >= 5 {
            let length =
                Int(plainBuffer[offset + 1]) << 24 | Int(plainBuffer[offset + 2]) << 16
                | Int(plainBuffer[offset + 3]) << 8 | Int(plainBuffer[offset + 4])
            guard length <= messageBytesMax else { throw .oversize(length) }
            guard plainBuffer.count - offset >= 5 + length else { break }
            events.append(
                .message(
                    channel: plainBuffer[offset], payload: Array(plainBuffer[(offset + 5)..<(offset + 5 + length)])))
            offset += 5 + length
        }
        return events
    }

    private static func frame(_ message: [UInt8]) -> [UInt8] {
        precondition(message.count <= noiseMessageBytesMax, "Noise messages fit 64 KiB")
        return [UInt8(message.count >> 8), UInt8(message.count & 0xFF)] + message
    }

    private func wrap<T>(_ body: () throws(NoiseError) -> T) throws(P2PError) -> T {
        do {
            return try body()
        } catch .decryptFailed {
            throw handshake == nil ? .decryptFailed : .handshakeFailed("message does not decrypt")
        } catch {
            throw .handshakeFailed("\(error)")
        }
    }
}

/// Entry points for fuzzing the transport's decoders from outside the module.
public enum TransportFuzzing {
    /// Feeds `bytes` to a fresh responder (handshake parser) and to an established session
    /// (frame decryption and message reassembly); neither may crash, whatever the bytes.
    public static func feed(_ bytes: [UInt8]) {
        guard let identity = try? Ed25519.PrivateKey(seed: [UInt8](repeating: 3, count: 32)),
            let peerIdentity = try? Ed25519.PrivateKey(seed: [UInt8](repeating: 4, count: 32))
        else { return }
        var responder = SecureSession(
            isInitiator: false, identity: identity, chainId: "fuzz", expected: nil, listenPort: 1,
            messageBytesMax: 1 << 16)
        _ = try? responder.receive(bytes)
        var initiator = SecureSession(
            isInitiator: true, identity: peerIdentity, chainId: "fuzz", expected: nil, listenPort: 2,
            messageBytesMax: 1 << 16)
        var established = SecureSession(
            isInitiator: false, identity: identity, chainId: "fuzz", expected: nil, listenPort: 1,
            messageBytesMax: 1 << 16)
        guard var toResponder = try? initiator.start() else { return }
        for _ in 0..<2 {
            guard let (reply, _) = try? established.receive(toResponder),
                let (back, _) = try? initiator.receive(reply)
            else { return }
            toResponder = back
        }
        // A valid frame first, so the fuzzed bytes hit the decrypting path past its first nonce.
        if let frame = try? initiator.seal(channel: 0x20, payload: Array(bytes.prefix(64))) {
            _ = try? established.receive(frame)
        }
        _ = try? established.receive(bytes)
    }
}
