import Testing

@testable import MeshNode

/// Which web pages may open `/events`.
@Suite struct OriginCheckTests {
    @Test func onlyTheNodesOwnAndConfiguredOriginsPass() {
        let check = OriginCheck(configured: ["https://Ops.Example.com/"])
        check.setOwn(host: "127.0.0.1", port: 8080)
        // Not a browser page: no Origin header.
        #expect(check.allows(nil))
        for own in ["http://127.0.0.1:8080", "http://localhost:8080", "HTTP://LOCALHOST:8080/", "http://[::1]:8080"] {
            #expect(check.allows(own), "\(own)")
        }
        #expect(check.allows("https://ops.example.com"))
        for foreign in [
            "http://attacker.example", "http://127.0.0.1:8081", "http://127.0.0.1", "null",
            "http://localhost.attacker.example:8080", "https://ops.example.com:8443", "",
        ] {
            #expect(!check.allows(foreign), "\(foreign)")
        }
    }

    @Test func aNodeListeningOnAllAddressesNamesOnlyLoopbackAndItsPort() {
        let check = OriginCheck(configured: [])
        #expect(!check.allows("http://127.0.0.1:8080"))  // before the port is known, nothing passes
        check.setOwn(host: "0.0.0.0", port: 8080)
        #expect(check.allows("http://127.0.0.1:8080"))
        #expect(!check.allows("http://0.0.0.0:8080"))
        check.setOwn(host: "10.1.2.3", port: 9000)
        #expect(check.allows("http://10.1.2.3:9000"))
        #expect(!check.allows("http://10.1.2.3:8080"))
    }
}
