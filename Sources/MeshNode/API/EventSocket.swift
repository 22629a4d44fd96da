import Foundation
import HummingbirdWebSocket
import MeshAPI
import MeshCore
import MeshGateway
import MeshLedger

/// One `/events` WebSocket connection: JSON requests in (`{"op":"subscribe","topic":"blocks"}`,
/// `{"op":"subscribe","topic":"txs","type":"bank.transfer"}`, `{"op":"subscribe","topic":"txs",
/// "did":"did:…"}`, `{"op":"unsubscribe","id":N}`), JSON events out (`EventMessage`).
enum EventSocket {
    /// Largest frame or message a client may send.
    static let frameBytesMax = 4096
    /// Subscriptions per connection.
    static let subscriptionsMax = 32

    static func run(hub: EventHub, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async {
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
                        hub.send(connection, handle(text, connection: connection, hub: hub, count: &count))
                    }
                } catch {}
                hub.close(connection)
            }
            await group.next()
            group.cancelAll()
        }
        hub.close(connection)
    }

    static func handle(_ text: String, connection: Int, hub: EventHub, count: inout Int) -> String {
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
                filter = .telemetry(did: did, filter: topicFilter)
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
}
