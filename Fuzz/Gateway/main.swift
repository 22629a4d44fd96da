// Fuzz target for the gateway's front door: MQTT framing and packet decoding (before CONNECT,
// and after it at 3.1.1 and 5.0), device tokens (the MQTT password), and device shadow requests
// (their topics and update documents), relay message frames and shared subscription filters.
//
// Built by Fuzz/run.sh like ledger-fuzz (see Fuzz/Ledger/main.swift for the entry-point notes).
import MeshCore
import MeshGateway

/// The libFuzzer entry point. The first byte picks what the rest is fed to.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let mode = bytes.first else { return 0 }
    let rest = Array(bytes.dropFirst())
    switch mode % 6 {
    case 0: decodeStream(rest, version: nil)
    case 1: decodeStream(rest, version: .v311)
    case 2: decodeStream(rest, version: .v5)
    case 3: shadowRequest(rest)
    case 4: relayMessage(rest)
    default:
        if let text = String(validating: rest, as: UTF8.self), let token = try? DeviceToken(parsing: text) {
            _ = try? token.checkClaims(chainId: "fuzz", now: 1_800_000_000)
            precondition(token.signingInput.utf8.count < text.utf8.count, "the signing input is a prefix")
        }
    }
    return 0
}

/// A relay message frame as a peer sends it: one that decodes has a valid topic, a response topic
/// that is a topic name, and shared groups that parse; and a shared filter's parts are valid.
func relayMessage(_ bytes: [UInt8]) {
    if let text = String(validating: bytes.prefix(300), as: UTF8.self),
        let shared = try? MQTTTopic.sharedFilter(text)
    {
        precondition(!shared.group.isEmpty && (try? MQTTTopic.validateFilter(shared.filter)) != nil, "parts are valid")
    }
    guard let message = RelayFrame.decodeMessage([3] + bytes) else { return }
    precondition((try? MQTTTopic.validateName(message.topic)) != nil, "a relayed topic is a topic name")
    precondition(message.responseTopic.map { (try? MQTTTopic.validateName($0)) != nil } ?? true, "a response topic")
    precondition(message.payloadFormat.map { $0 <= 1 } ?? true, "a payload format is 0 or 1")
}

/// A shadow request as a device publishes it: the topic never crashes the parser and a parsed
/// one names its own topics; an accepted update applies within the document's bounds or is
/// refused whole.
func shadowRequest(_ bytes: [UInt8]) {
    if let text = String(validating: bytes.prefix(256), as: UTF8.self),
        case .success(let topic)? = ShadowTopic.parse(text)
    {
        precondition(ShadowTopic.parse(topic.request) == .success(topic), "a request topic parses back")
    }
    guard let update = try? ShadowUpdate(jsonBytes: bytes) else { return }
    var shadow = ShadowDocument()
    let before = shadow
    do {
        try shadow.accept(update, stamp: HLCStamp(wallMs: 1, counter: 0, node: "fuzz"))
        precondition(shadow.state.jsonBytes.count <= ShadowDocument.stateBytesMax, "the state stays bounded")
        precondition(shadow.version == 1, "one update, one version")
    } catch {
        precondition(shadow == before, "a refused update changes nothing")
    }
}

/// Frames and decodes packets one after another, as a connection does; every accepted packet
/// must encode and decode back to itself.
func decodeStream(_ bytes: [UInt8], version: MQTTVersion?) {
    let decoder = MQTTDecoder(packetBytesMax: 4096)
    var offset = 0
    var version = version
    while offset < bytes.count {
        guard case .packet(let first, let bodyStart, let end)? = try? decoder.frame(bytes[offset...]) else { return }
        precondition(end > 0 && offset + end <= bytes.count, "a frame lies within the input")
        let body = bytes[(offset + bodyStart)..<(offset + end)]
        offset += end
        guard let packet = try? MQTTDecoder.decode(firstByte: first, body: body, version: version) else { return }
        let level: MQTTVersion
        if case .connect(let connect) = packet {
            level = connect.version
        } else {
            guard let version else { preconditionFailure("only CONNECT decodes before CONNECT") }
            level = version
        }
        let encoded = MQTTEncoder.encode(packet, version: level)
        guard case .packet(let again, let start, let stop)? = try? MQTTDecoder(packetBytesMax: 1 << 20).frame(encoded)
        else { preconditionFailure("an encoded packet frames") }
        precondition(stop == encoded.count, "one packet, whole")
        let reread = try? MQTTDecoder.decode(firstByte: again, body: encoded[start..<stop], version: version)
        precondition(reread == packet, "accepted packets survive encode and decode: \(packet)")
        version = level
    }
}

#if FUZZING
    /// libFuzzer's driver, present whenever the program is linked with `-sanitize=fuzzer`.
    @_silgen_name("LLVMFuzzerRunDriver")
    func llvmFuzzerRunDriver(
        _ argc: UnsafeMutablePointer<CInt>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
        _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
    ) -> CInt

    /// The program's entry under SwiftPM (its `main` alias): run libFuzzer with our callback.
    @_cdecl("gateway_fuzz_main")
    public func gatewayFuzzMain(
        _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
    ) -> CInt {
        var count = argc
        var arguments = argv
        return llvmFuzzerRunDriver(&count, &arguments) { data, size in fuzzTestOneInput(data, size) }
    }
#endif
