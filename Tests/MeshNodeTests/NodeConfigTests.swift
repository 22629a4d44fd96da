import Foundation
import MeshGateway
import MeshNode
import Testing

/// `config.toml`'s gateway quotas and `devnet --set`: each limit at, below and above its range.
@Suite struct NodeConfigTests {
    func quotas(_ toml: String) throws -> (registered: DeviceQuotas, unregistered: DeviceQuotas) {
        let path = NSTemporaryDirectory() + "config-\(UUID().uuidString).toml"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try NodeConfig(moniker: "q").save(path: path)
        let text = try String(contentsOfFile: path, encoding: .utf8) + "\n" + toml + "\n"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return try NodeConfig.load(path: path).mqttSettings.deviceQuotas()
    }

    @Test func absentQuotasAreTheNamedDefaults() throws {
        let quotas = try NodeConfig(moniker: "q").mqttSettings.deviceQuotas()
        #expect(quotas.registered == .registered && quotas.unregistered == .unregistered)
        #expect(DeviceQuotas.unregistered.sessions < DeviceQuotas.registered.sessions)
    }

    @Test func quotasAreReadFromTheirTables() throws {
        let read = try quotas(
            """
            [mqtt.quotas]
            sessions = 3
            offline_bytes = 1000

            [mqtt.unregistered_quotas]
            inflight_qos2 = 5
            """)
        #expect(read.registered.sessions == 3 && read.registered.offlineBytes == 1000)
        #expect(read.registered.subscriptions == DeviceQuotas.registered.subscriptions, "absent keys keep defaults")
        #expect(read.unregistered.inflightQoS2 == 5 && read.unregistered.sessions == DeviceQuotas.unregistered.sessions)
    }

    @Test func eachQuotaIsCheckedAtBelowAndAboveItsRange() throws {
        let ranges: [(key: String, low: Int, high: Int)] = [
            ("sessions", 1, 1_000_000), ("subscriptions", 0, 1_000_000), ("retained", 0, 1_000_000),
            ("retained_bytes", 0, 1 << 40), ("inflight_qos2", 1, 65_535), ("offline_bytes", 0, 1 << 40),
        ]
        for (key, low, high) in ranges {
            for value in [low, high] {  // at both ends
                #expect(throws: Never.self) { try quotas("[mqtt.quotas]\n\(key) = \(value)") }
            }
            #expect(throws: Never.self) { try quotas("[mqtt.quotas]\n\(key) = \(low + 1)") }  // inside
            for value in [low - 1, high + 1] {  // outside
                do {
                    _ = try quotas("[mqtt.quotas]\n\(key) = \(value)")
                    Issue.record("\(key) = \(value) was accepted")
                } catch {
                    #expect("\(error)".contains("[mqtt.quotas] \(key) = \(value) is outside"), "\(error)")
                }
            }
        }
    }

    @Test func devnetSettingsOverrideNestedKeysAndAreChecked() throws {
        let config = try NodeConfig(moniker: "d").setting([
            "mqtt.quotas.sessions=20000", "mqtt.allow_unregistered=true", "api.allowed_origins=[\"http://x\"]",
        ])
        #expect(config.mqtt?.quotas?.sessions == 20_000 && config.mqtt?.allowUnregistered == true)
        #expect(config.api.allowedOrigins == ["http://x"])
        #expect(config.mqtt?.listen == NodeConfig(moniker: "d").mqtt?.listen, "other keys are kept")
        for bad in [
            "mqtt.quotas.sessions", "mqtt.quotas.sessions=0", "=3", "mqtt.quotas.sessions=[", "p2p.listen=3",
            "mqtt.quotas.sesions=5", "mqtt.inflightQoS2=5", "nosuch.key=1",
        ] {
            #expect(throws: NodeError.self, "\(bad)") { try NodeConfig(moniker: "d").setting([bad]) }
        }
    }
}
