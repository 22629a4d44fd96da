import Foundation
import HummingbirdWebSocket
import MeshAPI
import MeshCore
import MeshGateway
import MeshLedger

/// One `/events` WebSocket connection: JSON requests in (`{"op":"subscribe","topic":"blocks"}`,
/// `{"op":"subscribe","topic":"txs","type":"bank.transfer"}`, `{"op":"subscribe","topic":"txs",
/// "did":"did:…"}`, `{"op":"subscribe","topic":"telemetry","did":"did:…","filter":"…","token":"…"}`,
/// `{"op":"unsubscribe","id":N}`), JSON events out (`EventMessage`). Chain topics are public;
/// device telemetry needs a reader's token (`authorizeReader`).
enum EventSocket {
    /// Largest frame or message a client may send.
    static let frameBytesMax = 4096
    /// Subscriptions per connection.
    static let subscriptionsMax = 32

    static func run(runtime: NodeRuntime, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async {
        let hub = runtime.hub
        let (connection, stream) = hub.open()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    for try await text in stream { try await outbound.write(.text(text)) }
                } catch EventHub.Ending.tooSlow {
                    try? await outbound.close(
                        .policyViolation, reason: "too slow: more than \(EventHub.queueMax) events queued")
                } catch {}
            }
            group.addTask {
                var count = 0
                do {
                    for try await message in inbound.messages(maxSize: frameBytesMax) {
                        guard case .text(let text) = message else {
                            hub.send(
                                connection,
                                reply(.error(APIErrorBody(code: "api/13", message: "send JSON text messages"))))
                            continue
                        }
                        hub.send(
                            connection, await handle(text, connection: connection, runtime: runtime, count: &count))
                    }
                } catch {}
                hub.close(connection)
            }
            await group.next()
            group.cancelAll()
        }
        hub.close(connection)
    }

    static func handle(_ text: String, connection: Int, runtime: NodeRuntime, count: inout Int) async -> String {
        let hub = runtime.hub
        guard let request = try? JSONDecoder().decode(EventRequest.self, from: Data(text.utf8)) else {
            return reply(
                .error(
                    APIErrorBody(
                        code: "api/13", message: "not an event request: {\"op\":\"subscribe\",\"topic\":\"blocks\"}")))
        }
        switch request.op {
        case "subscribe":
            guard count < subscriptionsMax else {
                return reply(
                    .error(
                        APIErrorBody(
                            code: "api/13", message: "at most \(subscriptionsMax) subscriptions per connection")))
            }
            let filter: EventHub.Filter
            switch request.topic {
            case "blocks":
                filter = .blocks
            case "txs":
                if let did = request.did, (try? DID(string: did)) == nil {
                    return reply(.error(APIErrorBody(code: "api/5", message: "'\(did.prefix(80))' is not a DID")))
                }
                filter = .transactions(type: request.type, did: request.did)
            case "telemetry":
                guard let did = request.did, (try? DID(string: did)) != nil else {
                    return reply(
                        .error(APIErrorBody(code: "api/5", message: "telemetry needs the device's DID in 'did'")))
                }
                let topicFilter = request.filter ?? "#"
                guard (try? MQTTTopic.validateFilter(topicFilter)) != nil else {
                    return reply(
                        .error(
                            APIErrorBody(
                                code: "api/13", message: "'\(topicFilter.prefix(80))' is not an MQTT topic filter")))
                }
                switch await authorizeReader(token: request.token, filter: topicFilter, runtime: runtime) {
                case .failure(let refusal): return reply(.error(refusal))
                case .success(let (reader, expiresAt)):
                    filter = .telemetry(did: did, filter: topicFilter, reader: reader, untilSeconds: expiresAt)
                }
            default:
                return reply(.error(APIErrorBody(code: "api/13", message: "topic must be blocks, txs or telemetry")))
            }
            guard let id = hub.subscribe(connection, filter) else { return "" }
            count += 1
            return reply(.subscribed(id: id, topic: request.topic ?? ""))
        case "unsubscribe":
            guard let id = request.id, hub.unsubscribe(connection, id) else {
                return reply(.error(APIErrorBody(code: "api/13", message: "no subscription with that id")))
            }
            count -= 1
            return reply(.unsubscribed(id: id))
        default:
            return reply(.error(APIErrorBody(code: "api/13", message: "op must be subscribe or unsubscribe")))
        }
    }

    static func reply(_ message: EventMessage) -> String { NodeAPI.jsonText(message) }

    /// A telemetry reader: `token` is a device token (the MQTT password format: a compact JWS
    /// for this chain, in date, signed by a current key of its `iss`) of a DID that may
    /// `mqtt.subscribe` on `filter` at the latest committed height. Returns the token's `exp`,
    /// when the subscription ends; `api/20` otherwise.
    static func authorizeReader(
        token text: String?, filter: String, runtime: NodeRuntime
    ) async -> Result<(reader: String, expiresAt: Int64), APIErrorBody> {
        guard let text, !text.isEmpty else {
            return .failure(
                APIErrorBody(
                    code: "api/20",
                    message:
                        "telemetry needs a reader's token: send 'token', a device token of a DID allowed mqtt.subscribe on the filter"
                ))
        }
        return await authorizeToken(
            text, action: .mqttSubscribe, resource: filter, runtime: runtime, code: "api/20",
            context: "telemetry needs a reader's token")
    }

    /// A device token (the MQTT password format: a compact JWS for this chain, in date, signed by
    /// a current key of its `iss`) of a DID allowed `action` on `resource` at the latest committed
    /// height: the token's DID and `exp`; an error with `code` (its message starting with
    /// `context`) otherwise.
    static func authorizeToken(
        _ text: String, action: PolicyAction, resource: String, runtime: NodeRuntime, code: String, context: String
    ) async -> Result<(reader: String, expiresAt: Int64), APIErrorBody> {
        func refuse(_ why: String) -> Result<(reader: String, expiresAt: Int64), APIErrorBody> {
            .failure(APIErrorBody(code: code, message: "\(context): \(why)"))
        }
        let token: DeviceToken
        do {
            token = try DeviceToken(parsing: text)
            try token.checkClaims(chainId: runtime.genesis.chainId, now: Int64(Date().timeIntervalSince1970))
        } catch {
            return refuse(error.description)
        }
        guard let reader = try? DID(string: token.issuer) else { return refuse("the token's iss is not a DID") }
        // As the gateway: a did:key is not an identity unless the operator allows unregistered keys.
        if case .key = reader, !(runtime.config.mqttSettings.allowUnregistered ?? false) {
            return refuse("\(token.issuer.prefix(80)) is not registered on the ledger")
        }
        let ledger = NodeGatewayLedger(runtime: runtime, chainId: runtime.genesis.chainId)
        guard case .active(let keys) = await ledger.identity(of: reader) else {
            return refuse("\(token.issuer) is not an active identity")
        }
        guard token.signer(among: keys) != nil else { return refuse(DeviceTokenError.badSignature.description) }
        let decision = await ledger.authorize(reader, action: action, resource: resource)
        guard decision.allowed else {
            return refuse(
                "\(token.issuer) may not \(action.rawValue) on '\(resource.prefix(80))': \(decision.reason)")
        }
        return .success((token.issuer, token.expiresAt))
    }

    /// After a block that changed identities or grants: every telemetry subscription whose
    /// reader may no longer subscribe to its filter (grant revoked or expired, DID deactivated)
    /// ends, with an `api/20` error event naming it.
    static func recheckReaders(runtime: NodeRuntime) async {
        let ledger = NodeGatewayLedger(runtime: runtime, chainId: runtime.genesis.chainId)
        for (connection, id, reader, filter) in runtime.hub.telemetrySubscriptions() {
            guard let did = try? DID(string: reader) else { continue }
            var allowed = false
            if case .active = await ledger.identity(of: did) {
                allowed = await ledger.authorize(did, action: .mqttSubscribe, resource: filter).allowed
            }
            guard !allowed, runtime.hub.unsubscribe(connection, id) else { continue }
            let message =
                "telemetry subscription \(id) ended: \(reader.prefix(80)) may no longer subscribe to '\(filter.prefix(80))'"
            runtime.hub.send(connection, reply(.error(APIErrorBody(code: "api/20", message: message))))
        }
    }
}
