import MeshCore
import Testing

@Suite struct DeviceTokenTests {
    let key = Ed25519.PrivateKey()
    let now: Int64 = 1_800_000_000

    @Test func issuedTokenVerifiesAgainstItsKeyOnly() throws {
        let text = DeviceToken.issue(did: "did:mesh:abc", chainId: "c", key: key, issuedAt: now, lifetimeSeconds: 3600)
        let token = try DeviceToken(parsing: text)
        #expect(token.issuer == "did:mesh:abc")
        #expect(token.audience == "c")
        #expect(token.expiresAt == now + 3600)
        try token.checkClaims(chainId: "c", now: now + 10)
        #expect(token.signer(among: [Ed25519.PrivateKey().publicKey, key.publicKey]) == key.publicKey)
        #expect(token.signer(among: [Ed25519.PrivateKey().publicKey]) == nil)
    }

    @Test func claimsAreChecked() throws {
        func token(_ issuedAt: Int64, _ lifetime: Int64) throws -> DeviceToken {
            try DeviceToken(
                parsing: DeviceToken.issue(
                    did: "d", chainId: "c", key: key, issuedAt: issuedAt, lifetimeSeconds: lifetime))
        }
        #expect(throws: DeviceTokenError.expired) { try token(now - 7200, 3600).checkClaims(chainId: "c", now: now) }
        #expect(throws: DeviceTokenError.wrongAudience("c")) {
            try token(now, 60).checkClaims(chainId: "other", now: now)
        }
        #expect(throws: DeviceTokenError.lifetimeTooLong) {
            try token(now, 25 * 3600).checkClaims(chainId: "c", now: now)
        }
        #expect(throws: DeviceTokenError.notYetValid) { try token(now + 3600, 60).checkClaims(chainId: "c", now: now) }
    }

    /// Claims at the ends of Int64 (no signature needed to send them) are refused, not trapped on.
    @Test func extremeTimesAreRefusedWithoutOverflow() throws {
        let header = Base64URL.encode(Array(#"{"alg":"EdDSA"}"#.utf8))
        let signature = Base64URL.encode([UInt8](repeating: 7, count: 64))
        for (iat, exp) in [(Int64.min, now + 60), (now, Int64.max), (Int64.min, Int64.max), (-1, now + 60)] {
            let claims = Base64URL.encode(Array(#"{"aud":"c","exp":\#(exp),"iat":\#(iat),"iss":"d"}"#.utf8))
            let token = try DeviceToken(parsing: header + "." + claims + "." + signature)
            #expect(throws: DeviceTokenError.self) { try token.checkClaims(chainId: "c", now: now) }
        }
    }

    @Test func tamperedOrMalformedTokensAreRefused() throws {
        let text = DeviceToken.issue(did: "d", chainId: "c", key: key, issuedAt: now, lifetimeSeconds: 60)
        let parts = text.split(separator: ".").map(String.init)
        // Claims swapped for others: the signature no longer matches.
        let forgedClaims = Base64URL.encode(Array(#"{"aud":"c","exp":9999999999,"iat":1800000000,"iss":"d"}"#.utf8))
        let forged = try DeviceToken(parsing: parts[0] + "." + forgedClaims + "." + parts[2])
        #expect(forged.signer(among: [key.publicKey]) == nil)
        let malformed = [
            "", "a.b", "a.b.c.d", parts[0] + ".!!." + parts[2], parts[0] + "." + parts[1] + ".AAAA",
            Base64URL.encode(Array(#"{"alg":"none"}"#.utf8)) + "." + parts[1] + "." + parts[2],
            String(repeating: "a", count: 5000),
        ]
        for text in malformed {
            #expect(throws: DeviceTokenError.self) { try DeviceToken(parsing: text) }
        }
    }
}
