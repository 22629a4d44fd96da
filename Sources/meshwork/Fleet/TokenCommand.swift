import ArgumentParser
import Foundation
import MeshCore
import MeshLedger
import MeshNode

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `<home>/devices.json`: which did:mesh each device key created here belongs to, so that
/// `device token --key NAME` needs no DID.
enum DeviceKeyIndex {
    static func path(_ home: HomeOptions) -> String { home.directory + "/devices.json" }

    static func load(_ home: HomeOptions) -> [String: String] {
        guard let data = FileManager.default.contents(atPath: path(home)),
            let map = try? JSONDecoder().decode([String: String].self, from: data)
        else { return [:] }
        return map
    }

    /// Records that key `name` belongs to `did` (best effort: the ledger is the record).
    static func record(key name: String, did: String, home: HomeOptions) {
        var map = load(home)
        map[name] = did
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        if let data = try? encoder.encode(map) {
            try? data.write(to: URL(fileURLWithPath: path(home)), options: .atomic)
        }
    }
}

extension DeviceCommand {
    /// `meshwork device token`: the MQTT password of a device.
    struct Token: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print an MQTT password for a device: a JWS signed by one of its keys.",
            discussion: """
                Connect with user name = the device's DID and password = this token. The token names the
                chain (aud) and expires after --ttl (at most 24h); the gateway checks its signature against
                the DID's current keys on the ledger.
                """)

        @OptionGroup var home: HomeOptions
        @Option(help: "Keystore key of the device; it signs the token.") var key: String
        @Option(help: "The device's DID (default: the did:mesh this key was registered or rotated into here).")
        var did: String?
        @Option(help: "Chain id (default: the chain of the node at --node).") var chainId: String?
        @Option(help: "Node API used to learn the chain id.") var node = "http://127.0.0.1:8080"
        @Option(help: "Lifetime: seconds, or a number with s, m or h (at most 24h).") var ttl = "1h"
        @Option(help: "Issue time in Unix seconds (default: now); for tests of expired tokens.") var issuedAt: Int64?

        func run() throws {
            let seconds = try Self.parseDuration(ttl)
            guard seconds > 0, seconds <= DeviceToken.lifetimeSecondsMax else {
                throw ValidationError("--ttl must be between 1s and 24h")
            }
            let privateKey = try unlockKey(key, home: home)
            let device: String
            if let did {
                device = try resolveDID(did, home: home).description
            } else if let known = DeviceKeyIndex.load(home)[key] {
                device = known
            } else {
                device = DID.key(privateKey.publicKey).description
            }
            let chain = try chainId ?? Self.chainId(node: node)
            print(
                DeviceToken.issue(
                    did: device, chainId: chain, key: privateKey,
                    issuedAt: issuedAt ?? Int64(Date().timeIntervalSince1970), lifetimeSeconds: seconds))
        }

        static func parseDuration(_ text: String) throws -> Int64 {
            let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600]
            if let last = text.last, let unit = units[last], let value = Int64(text.dropLast()) {
                let (seconds, overflow) = value.multipliedReportingOverflow(by: unit)
                guard !overflow else { throw ValidationError("'\(text)' is too long a duration") }
                return seconds
            }
            if let value = Int64(text) { return value }
            throw ValidationError("'\(text)' is not a duration like 90s, 30m or 1h")
        }

        static func chainId(node: String) throws -> String {
            guard let url = URL(string: node + "/status") else { throw ValidationError("'\(node)' is not a URL") }
            let semaphore = DispatchSemaphore(value: 0)
            nonisolated(unsafe) var result: String?
            URLSession.shared.dataTask(with: url) { data, _, _ in
                if let data, let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
                    result = object["chainId"] as? String
                }
                semaphore.signal()
            }.resume()
            semaphore.wait()
            guard let result else {
                throw CommandFailure("cannot read the chain id from \(node)/status; pass --chain-id")
            }
            return result
        }
    }
}
