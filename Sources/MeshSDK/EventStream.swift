import Foundation
import HummingbirdWSClient
import Logging
public import MeshAPI

extension MeshClient {
    /// Opens `/events`, sends `subscriptions`, and yields every event the node sends (the
    /// `subscribed` acknowledgements included). The stream ends when the connection closes;
    /// cancel the consuming task to close it. A client that falls more than the node's queue
    /// behind is disconnected by the node and should reconnect and catch up from `/blocks`.
    public func events(_ subscriptions: [EventRequest]) -> AsyncThrowingStream<EventMessage, any Error> {
        let url =
            base.replacingOccurrences(of: "http://", with: "ws://")
            .replacingOccurrences(of: "https://", with: "wss://") + "/events"
        let (stream, continuation) = AsyncThrowingStream<EventMessage, any Error>.makeStream(
            bufferingPolicy: .bufferingOldest(4096))
        let task = Task {
            do {
                let requests = try subscriptions.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
                try await WebSocketClient.connect(
                    url: url, configuration: .init(maxFrameSize: 1 << 20),
                    logger: Logger(label: "meshwork.events")
                ) { inbound, outbound, _ in
                    for request in requests { try await outbound.write(.text(request)) }
                    for try await message in inbound.messages(maxSize: 1 << 20) {
                        guard case .text(let text) = message else { continue }
                        let event = try JSONDecoder().decode(EventMessage.self, from: Data(text.utf8))
                        continuation.yield(event)
                    }
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: SDKError.unreachable(base, "events: \(error)"))
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }
}
