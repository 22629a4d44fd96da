import MeshCore
import MeshLedger
import NIOCore

/// Decisions already made for this connection, valid for the gateway's current authorization
/// epoch (bumped by every block that changes identities or grants) and below a height where a
/// grant in the chain expires.
struct AuthorizationCache {
    let entriesMax: Int
    private var epoch: UInt64 = 0

    init(entriesMax: Int = 1024) { self.entriesMax = entriesMax }

    private var entries: [String: GatewayDecision] = [:]

    mutating func lookup(_ key: String, epoch: UInt64, height: UInt64) -> Bool? {
        if epoch != self.epoch {
            entries.removeAll()
            self.epoch = epoch
            return nil
        }
        guard let decision = entries[key] else { return nil }
        if let limit = decision.validBelowHeight, height + 1 >= limit { return nil }
        return decision.allowed
    }

    mutating func store(_ key: String, _ decision: GatewayDecision, epoch: UInt64) {
        guard epoch == self.epoch else { return }
        if entries.count >= entriesMax { entries.removeAll() }
        entries[key] = decision
    }
}

/// Monotonic nanoseconds.
enum DispatchTimeNanos {
    static var now: UInt64 { NIODeadline.now().uptimeNanoseconds }
}

extension MQTTConnectionHandler {
    /// Runs `body` with the decisions for `requests` (action, resource), asking the ledger for
    /// those not cached. While the ledger answers, reading stops and later packets wait.
    func withDecisions(
        _ context: ChannelHandlerContext, _ did: String, _ requests: [(PolicyAction, String)],
        _ body: @escaping (ChannelHandlerContext, [Bool]) -> Void
    ) {
        let (epoch, height) = gateway.authorizationEpoch
        var known: [Bool?] = requests.map { cacheLookup("\($0.0.rawValue) \($0.1)", epoch: epoch, height: height) }
        if known.allSatisfy({ $0 != nil }) {
            body(context, known.map { $0 ?? false })
            return
        }
        setWaiting(context, true)
        let missing = requests.enumerated().filter { known[$0.offset] == nil }
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let boundBody = NIOLoopBound(body, eventLoop: context.eventLoop)
        let gateway = gateway
        let eventLoop = context.eventLoop
        let requestList = missing.map { ($0.offset, $0.element.0, $0.element.1) }
        Task {
            var answers: [(Int, GatewayDecision)] = []
            for (index, action, resource) in requestList {
                answers.append((index, await gateway.authorize(did: did, action: action, resource: resource)))
            }
            let finalAnswers = answers
            eventLoop.execute {
                let (handler, context) = bound.value
                for (index, decision) in finalAnswers {
                    let (action, resource) = requests[index]
                    handler.cacheStore("\(action.rawValue) \(resource)", decision, epoch: epoch)
                    known[index] = decision.allowed
                }
                handler.setWaiting(context, false)
                guard context.channel.isActive else { return }
                boundBody.value(context, known.map { $0 ?? false })
                handler.resume(context)
            }
        }
    }

    func handlePublish(_ context: ChannelHandlerContext, _ connected: ConnectedView, _ publish: MQTTPublish) {
        var topic = publish.topic
        if let alias = publish.properties.integer(.topicAlias) {
            guard alias > 0, alias <= UInt32(gateway.limits.topicAliasMax) else {
                disconnect(
                    context, .topicAliasInvalid, "topic alias \(alias) is outside 1...\(gateway.limits.topicAliasMax)")
                return
            }
            if topic.isEmpty {
                guard let known = aliasTopic(UInt16(alias)) else {
                    disconnect(context, .protocolError, "topic alias \(alias) is not set")
                    return
                }
                topic = known
            } else {
                setAlias(UInt16(alias), topic)
            }
        }
        if let why = Self.forwardedPropertyError(publish.properties) {
            disconnect(context, .protocolError, why)
            return
        }
        if let channel = Gateway.payChannel(topic: topic) {
            takeVoucher(context, connected, publish, channel: channel)
            return
        }
        if let feed = Gateway.oracleFeed(topic: topic) {
            takeObservation(context, connected, publish, feed: feed)
            return
        }
        if let device = Gateway.otaStatusDevice(topic: topic) {
            takeReceipt(context, connected, publish, device: device)
            return
        }
        if let request = ShadowTopic.parse(topic) {
            takeShadowRequest(context, connected, publish, request)
            return
        }
        withDecisions(context, connected.did, [(.mqttPublish, topic)]) { context, allowed in
            self.finishPublish(context, connected, publish, topic: topic, allowed: allowed[0])
        }
    }

    /// An observation published to `$mesh/oracle/<feed>`: checked by the gateway, handed to the
    /// node's batcher, never delivered to subscribers. Acknowledged once taken; refused with 0x99
    /// (malformed), 0x90 (the topic names another feed) or 0x87 (not the device's, not a
    /// reporter, a bad signature, a replay).
    private func takeObservation(
        _ context: ChannelHandlerContext, _ connected: ConnectedView, _ publish: MQTTPublish, feed: String?
    ) {
        guard beginSelfChecked(context, connected, publish) else { return }
        let observation: Observation
        do {
            observation = try Observation(payload: publish.payload)
        } catch {
            gateway.countProtocolError()
            endSelfChecked(connected, publish)
            refusePublish(
                context, connected, publish, .payloadFormatInvalid, "the observation is malformed: \(error.message)")
            return
        }
        guard let feed, observation.feed == feed else {
            endSelfChecked(connected, publish)
            refusePublish(
                context, connected, publish, .topicNameInvalid,
                "an observation of '\(observation.feed)' is published to $mesh/oracle/\(observation.feed)")
            return
        }
        finishSelfChecked(context, connected, publish) { gateway in
            await gateway.takeObservation(observation, did: connected.did)
        } refused: { refusal in
            "refused an observation of '\(feed)' from \(connected.did): \(refusal.text)"
        }
    }

    /// A receipt published to `$mesh/ota/<did>/status`: checked by the gateway, handed to the
    /// node's batcher, never delivered to subscribers. Refused with 0x99 (malformed), 0x90 (a
    /// `$mesh/ota/` topic other than the device's own status topic) or 0x87 (not the device's,
    /// a bad signature, not a current key).
    private func takeReceipt(
        _ context: ChannelHandlerContext, _ connected: ConnectedView, _ publish: MQTTPublish, device: String?
    ) {
        guard beginSelfChecked(context, connected, publish) else { return }
        guard let device, device == connected.did else {
            endSelfChecked(connected, publish)
            refusePublish(
                context, connected, publish, .topicNameInvalid,
                "a device publishes its install receipts to \(Gateway.otaTopicPrefix)\(connected.did)/status only")
            return
        }
        let receipt: InstallReceipt
        do {
            receipt = try InstallReceipt(payload: publish.payload)
        } catch {
            gateway.countProtocolError()
            endSelfChecked(connected, publish)
            refusePublish(
                context, connected, publish, .payloadFormatInvalid, "the receipt is malformed: \(error.message)")
            return
        }
        finishSelfChecked(context, connected, publish) { gateway in
            await gateway.takeReceipt(receipt, did: connected.did)
        } refused: { refusal in
            "refused an install receipt from \(connected.did): \(refusal.text)"
        }
    }

    /// Runs `work` for a publish on one of the gateway's own topics off the event loop (reading
    /// stops meanwhile), then acknowledges it, or refuses it with 0x87 and logs `refused`'s line.
    private func finishSelfChecked(
        _ context: ChannelHandlerContext, _ connected: ConnectedView, _ publish: MQTTPublish,
        _ work: @escaping @Sendable (Gateway) async -> Result<Void, PublishRefusal>,
        refused: @escaping @Sendable (PublishRefusal) -> String
    ) {
        setWaiting(context, true)
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let gateway = gateway
        let eventLoop = context.eventLoop
        Task {
            let outcome = await work(gateway)
            eventLoop.execute {
                let (handler, context) = bound.value
                handler.setWaiting(context, false)
                if case .failure = outcome { handler.endSelfChecked(connected, publish) }
                guard context.channel.isActive else { return }
                switch outcome {
                case .success:
                    switch publish.qos {
                    case .atMostOnce: break
                    case .atLeastOnce:
                        connected.connection.send(.ack(MQTTAck(.puback, packetID: publish.packetID ?? 0)))
                    case .exactlyOnce:
                        connected.connection.send(.ack(MQTTAck(.pubrec, packetID: publish.packetID ?? 0)))
                    }
                case .failure(let refusal):
                    gateway.log(refused(refusal))
                    handler.refusePublish(context, connected, publish, .notAuthorized, refusal.text)
                }
                handler.resume(context)
            }
        }
    }

    /// Exactly once for the gateway's own topics (`$mesh/pay`, `$mesh/oracle`): a QoS 2 packet id
    /// is recorded before the publish is checked, a resent one (DUP, before PUBREL) is answered
    /// PUBREC again without being taken twice, and past the DID's Receive Maximum the connection
    /// ends with 0x93. False when the publish is not to be processed.
    func beginSelfChecked(_ context: ChannelHandlerContext, _ connected: ConnectedView, _ publish: MQTTPublish) -> Bool
    {
        guard publish.qos == .exactlyOnce else { return true }
        let packetID = publish.packetID ?? 0
        switch gateway.broker.beginInboundQoS2(clientID: connected.clientID, packetID: packetID) {
        case .new: return true
        case .duplicate:
            connected.connection.send(.ack(MQTTAck(.pubrec, packetID: packetID)))
            return false
        case .overLimit:
            gateway.countQuotaRefused()
            let quota = gateway.limits.quotas(for: connected.did).inflightQoS2
            disconnect(
                context, .receiveMaximumExceeded,
                "more than \(quota) QoS 2 publishes wait for their PUBREL (the server's Receive Maximum)")
            return false
        }
    }

    /// A refused QoS 2 publish of the gateway's own topics ends its exchange (no PUBREL follows a
    /// PUBREC with a failure code).
    func endSelfChecked(_ connected: ConnectedView, _ publish: MQTTPublish) {
        guard publish.qos == .exactlyOnce else { return }
        _ = gateway.broker.releaseInboundQoS2(clientID: connected.clientID, packetID: publish.packetID ?? 0)
    }

    /// A shadow request on `$mesh/things/<did>/shadow/…/get|update|delete`: handled by the gateway,
    /// never delivered as a message; acknowledged once answered. A topic under `$mesh/things/`
    /// that is no request (an answer topic) is refused with 0x90, a request the device may not
    /// make with 0x87.
    private func takeShadowRequest(
        _ context: ChannelHandlerContext, _ connected: ConnectedView, _ publish: MQTTPublish,
        _ request: Result<ShadowTopic, ShadowRejection>
    ) {
        guard beginSelfChecked(context, connected, publish) else { return }
        guard case .success(let topic) = request else {
            endSelfChecked(connected, publish)
            if case .failure(let rejection) = request {
                refusePublish(
                    context, connected, publish, .topicNameInvalid,
                    "only the gateway publishes under \(ShadowTopic.prefix) other than requests: \(rejection.message)")
            }
            return
        }
        let payload = publish.payload
        finishSelfChecked(context, connected, publish) { gateway in
            await gateway.takeShadowRequest(topic, payload: payload, did: connected.did)
        } refused: { refusal in
            "refused a shadow request by \(connected.did): \(refusal.text)"
        }
    }

    /// A voucher published to `$mesh/pay/<channel>`: checked by the gateway (no ledger
    /// transaction), never delivered to subscribers. Acknowledged once checked; refused with
    /// 0x99 (malformed) or 0x87 (not the payer's, or above the deposit).
    private func takeVoucher(
        _ context: ChannelHandlerContext, _ connected: ConnectedView, _ publish: MQTTPublish, channel: UInt64?
    ) {
        guard beginSelfChecked(context, connected, publish) else { return }
        let voucher: Voucher
        do {
            voucher = try Voucher(payload: publish.payload)
        } catch {
            gateway.countProtocolError()
            endSelfChecked(connected, publish)
            refusePublish(
                context, connected, publish, .payloadFormatInvalid, "the voucher is malformed: \(error.message)")
            return
        }
        guard let channel, voucher.channel == channel else {
            endSelfChecked(connected, publish)
            refusePublish(
                context, connected, publish, .topicNameInvalid,
                "a voucher for channel \(voucher.channel) is published to $mesh/pay/\(voucher.channel)")
            return
        }
        finishSelfChecked(context, connected, publish) { gateway in
            await gateway.acceptVoucher(voucher, clientID: connected.clientID, did: connected.did).map { _ in }
        } refused: { refusal in
            "refused a voucher from \(connected.did) for channel \(channel): \(refusal.text)"
        }
    }

    private func finishPublish(
        _ context: ChannelHandlerContext, _ connected: ConnectedView, _ publish: MQTTPublish, topic: String,
        allowed: Bool
    ) {
        let connection = connected.connection
        guard allowed else {
            gateway.countDenied()
            gateway.log("denied publish by \(connected.did) on '\(topic)'")
            refusePublish(
                context, connected, publish, .notAuthorized, "publish on '\(topic)' is not allowed for \(connected.did)"
            )
            return
        }
        // An envelope claim must hold before anything is accepted; its record is device-signed.
        let signature: (DeviceSignature, Hash256)?
        switch checkEnvelope(connected, publish.payload, topic: topic) {
        case .success(let checked): signature = checked
        case .failure(let why):
            gateway.countDenied()
            gateway.log("refused publish by \(connected.did) on '\(topic)': \(why.text)")
            refusePublish(context, connected, publish, .payloadFormatInvalid, why.text)
            return
        }
        var userProperties = publish.properties.userProperties
        // How a message's publisher is known is the gateway's to say, never the device's.
        userProperties.removeAll { $0.0 == Gateway.provenanceProperty }
        if userProperties.count > 32 { userProperties = Array(userProperties.prefix(32)) }
        if signature != nil { userProperties.append((Gateway.provenanceProperty, "device-signed")) }
        var message = GatewayMessage(
            topic: topic, payload: publish.payload, qos: publish.qos, retain: publish.retain, publisher: connected.did,
            userProperties: userProperties)
        message.takeForwarded(publish.properties, nowMs: Broker.nowMs())
        // A payload said to be UTF-8 that is not is refused (MQTT 5.0 section 3.3.2.3.2).
        if message.payloadFormat == 1, String(validating: publish.payload, as: UTF8.self) == nil {
            gateway.countProtocolError()
            refusePublish(
                context, connected, publish, .payloadFormatInvalid,
                "the payload format indicator says UTF-8 and the payload is not")
            return
        }
        // A retained message past its publisher's quota is refused, not silently forgotten.
        if message.retain, !gateway.broker.retainAllowed(message) {
            gateway.countQuotaRefused()
            refusePublish(
                context, connected, publish, .quotaExceeded,
                "retained messages of \(connected.did) are at their quota; clear one (an empty retained publish) first")
            return
        }
        let failed = MQTTReasonCode.unspecifiedError.rawValue
        switch publish.qos {
        case .atMostOnce:
            gateway.accept(message, from: connected.clientID)
            record(connected, message, signature)
        case .atLeastOnce:
            let stored = gateway.accept(message, from: connected.clientID)
            if stored { record(connected, message, signature) }
            guard stored || connection.version == .v5 else {
                disconnect(context, .unspecifiedError, "a message could not be stored; not acknowledged")
                return
            }
            connection.send(.ack(MQTTAck(.puback, packetID: publish.packetID ?? 0, reasonCode: stored ? 0 : failed)))
        case .exactlyOnce:
            let packetID = publish.packetID ?? 0
            var stored = true
            switch gateway.broker.beginInboundQoS2(clientID: connected.clientID, packetID: packetID) {
            case .overLimit:
                gateway.countQuotaRefused()
                let quota = gateway.limits.quotas(for: connected.did).inflightQoS2
                disconnect(
                    context, .receiveMaximumExceeded,
                    "more than \(quota) QoS 2 publishes wait for their PUBREL (the server's Receive Maximum)")
                return
            case .duplicate:
                break
            case .new:
                stored = gateway.accept(message, from: connected.clientID)
                if stored { record(connected, message, signature) }
                if !stored { _ = gateway.broker.releaseInboundQoS2(clientID: connected.clientID, packetID: packetID) }
            }
            guard stored || connection.version == .v5 else {
                disconnect(context, .unspecifiedError, "a message could not be stored; not acknowledged")
                return
            }
            connection.send(.ack(MQTTAck(.pubrec, packetID: packetID, reasonCode: stored ? 0 : failed)))
        }
    }

    /// Refuses a publish with `code`: MQTT 5 QoS 1/2 get it in PUBACK/PUBREC; otherwise the
    /// connection closes, since MQTT 3.1.1 has no negative acknowledgement (MQTT-3.3.5-2) and
    /// MQTT 5 QoS 0 has none either.
    func refusePublish(
        _ context: ChannelHandlerContext, _ connected: ConnectedView, _ publish: MQTTPublish, _ code: MQTTReasonCode,
        _ why: String
    ) {
        switch (connected.connection.version, publish.qos) {
        case (.v5, .atLeastOnce):
            connected.connection.send(
                .ack(MQTTAck(.puback, packetID: publish.packetID ?? 0, reasonCode: code.rawValue)))
        case (.v5, .exactlyOnce):
            connected.connection.send(
                .ack(MQTTAck(.pubrec, packetID: publish.packetID ?? 0, reasonCode: code.rawValue)))
        default:
            disconnect(context, code, why)
        }
    }

    struct EnvelopeRefusal: Error { var text: String }

    /// nil for a plain payload; the device's signature and the inner payload's hash for a valid
    /// envelope sealed with the key the device connected with; a refusal for any other claim.
    private func checkEnvelope(
        _ connected: ConnectedView, _ payload: [UInt8], topic: String
    ) -> Result<(DeviceSignature, Hash256)?, EnvelopeRefusal> {
        let envelope: DeviceEnvelope
        do {
            guard let parsed = try DeviceEnvelope.parse(payload) else { return .success(nil) }
            envelope = parsed
        } catch {
            return .failure(EnvelopeRefusal(text: "a device envelope (MWE1) is malformed: \(error.message)"))
        }
        guard envelope.signature.publicKey == connected.connection.signingKey else {
            return .failure(EnvelopeRefusal(text: "the envelope is not sealed with the key this device connected with"))
        }
        let hash = envelope.payloadHash
        guard let did = connected.deviceDID,
            envelope.signature.isValid(device: did, topic: topic, payloadHash: hash)
        else {
            return .failure(EnvelopeRefusal(text: "the envelope's signature does not cover this payload on this topic"))
        }
        return .success((envelope.signature, hash))
    }

    /// Records an accepted publish for provenance (an envelope's hash is the one already checked).
    private func record(
        _ connected: ConnectedView, _ message: GatewayMessage, _ signature: (DeviceSignature, Hash256)?
    ) {
        guard let provenance = gateway.provenance, let did = connected.deviceDID else { return }
        provenance.record(
            device: did, topic: message.topic, payloadHash: signature?.1 ?? Hash256.sha256(message.payload),
            signature: signature?.0)
    }

    /// Why a client's PUBLISH properties break the protocol, if they do: a Subscription
    /// Identifier (MQTT-3.3.4-6), a Response Topic with a wildcard (MQTT-3.3.2-14), a Payload
    /// Format Indicator other than 0 or 1, or a property only other packets carry (MQTT 5.0
    /// section 2.2.2.2).
    static func forwardedPropertyError(_ properties: MQTTProperties) -> String? {
        for (id, value) in properties.entries {
            switch id {
            case .payloadFormatIndicator:
                if case .byte(let format) = value, format > 1 { return "payload format indicator \(format)" }
            case .responseTopic:
                if case .string(let topic) = value, (try? MQTTTopic.validateName(topic)) == nil {
                    return "the response topic '\(topic.prefix(100))' is no topic name"
                }
            case .messageExpiryInterval, .contentType, .correlationData, .userProperty, .topicAlias:
                continue
            default:
                return "a PUBLISH from a client carries property 0x\(Hex.encode([id.rawValue]))"
            }
        }
        return nil
    }

    func handleSubscribe(_ context: ChannelHandlerContext, _ connected: ConnectedView, _ subscribe: MQTTSubscribe) {
        // One Subscription Identifier at most, 1…268,435,455 (MQTT 5.0 section 3.8.2.1.2).
        let identifiers = subscribe.properties.entries.filter { $0.id == .subscriptionIdentifier }
        let identifier = subscribe.properties.integer(.subscriptionIdentifier) ?? 0
        guard identifiers.count <= 1, identifiers.isEmpty || identifier != 0 else {
            disconnect(context, .protocolError, "a SUBSCRIBE with \(identifiers.count) subscription identifiers or 0")
            return
        }
        // nil: valid; otherwise the MQTT 5 reason code of the refusal.
        var invalid: [MQTTReasonCode?] = []
        for (filter, options) in subscribe.filters {
            do {
                if try MQTTTopic.sharedFilter(filter) != nil {
                    // No Local on a shared subscription is a Protocol Error (MQTT-3.8.3-4).
                    guard !options.noLocal else {
                        disconnect(context, .protocolError, "no local set on the shared subscription '\(filter)'")
                        return
                    }
                    invalid.append(nil)
                } else {
                    try MQTTTopic.validateFilter(filter)
                    invalid.append(nil)
                }
            } catch {
                invalid.append(.topicFilterInvalid)
            }
        }
        if let named = subscribe.properties.userProperties.last(where: { $0.0 == Gateway.channelProperty }) {
            bindChannel(connected, named.1, context)
        }
        // `$mesh/ota/` filters are decided here: a device subscribes to its own job topic only.
        // Decided by the gateway for its own topics, by the ledger otherwise (a shared subscription
        // for the filter it shares, a shadow's answers by `shadow.read`).
        let checks = subscribe.filters.map { Gateway.subscriptionCheck($0.filter, did: connected.did) }
        var requests: [(PolicyAction, String)] = []
        for check in checks {
            if case .ledger(let action, let resource) = check { requests.append((action, resource)) }
        }
        withDecisions(context, connected.did, requests) { _, ledgerAllowed in
            var answers = ledgerAllowed.makeIterator()
            let allowed = checks.map { check -> Bool in
                if case .local(let own) = check { return own }
                return answers.next() ?? false
            }
            let v5 = connected.connection.version == .v5
            var codes: [UInt8] = []
            var accepted: [(filter: String, options: MQTTSubscriptionOptions)] = []
            for (index, entry) in subscribe.filters.enumerated() {
                if let reason = invalid[index] {
                    codes.append(v5 ? reason.rawValue : 0x80)
                } else if !allowed[index] {
                    self.gateway.countDenied()
                    self.gateway.log("denied subscribe by \(connected.did) to '\(entry.filter)'")
                    codes.append(v5 ? MQTTReasonCode.notAuthorized.rawValue : 0x80)
                } else {
                    codes.append(entry.options.qos.rawValue)
                    accepted.append(entry)
                }
            }
            // The broker sends the SUBACK once it knows which subscriptions it took, and before
            // the retained messages they bring.
            self.gateway.broker.subscribe(clientID: connected.clientID, accepted, identifier: identifier) { results in
                var index = 0
                for (position, code) in codes.enumerated() where code < 0x80 {
                    if !results[index] {
                        codes[position] = v5 ? MQTTReasonCode.quotaExceeded.rawValue : 0x80
                        self.gateway.countQuotaRefused()
                    }
                    index += 1
                }
                connected.connection.send(.suback(MQTTSubAck(packetID: subscribe.packetID, reasonCodes: codes)))
            }
        }
    }

    /// Binds the session to the channel a `mesh-channel` user property names (one binding at a
    /// time per connection: a later one while the first reads the ledger is ignored).
    func bindChannel(_ connected: ConnectedView, _ value: String, _ context: ChannelHandlerContext) {
        guard let id = UInt64(value.prefix(20)), id > 0 else {
            gateway.log("\(connected.clientID) named channel '\(value.prefix(40))', which is no channel id")
            return
        }
        guard !bindingChannel else { return }
        bindingChannel = true
        let gateway = gateway
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        Task {
            await gateway.bindChannel(clientID: connected.clientID, did: connected.did, id)
            eventLoop.execute { bound.value.bindingChannel = false }
        }
    }
}
