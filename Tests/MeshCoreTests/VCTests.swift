import Foundation
import MeshCore
import Testing

@Suite struct VerifiableCredentialTests {
    /// The issuer's key: seed 00 01 … 1f.
    static func issuerKey() throws -> Ed25519.PrivateKey { try Ed25519.PrivateKey(seed: (0..<32).map { UInt8($0) }) }
    static let issuerPublicKeyHex = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"
    static let issuer = "did:key:z6MkehRgf7yJbgaGfYsdoAsKdBPE3dj2CYhowQdcjqSJgvVd"
    static let kid = issuer + "#z6MkehRgf7yJbgaGfYsdoAsKdBPE3dj2CYhowQdcjqSJgvVd"
    static let listURL = "https://meshwork.example/status/1"
    /// 2026-01-01T00:00:00Z.
    static let start = Date(timeIntervalSince1970: 1_767_225_600)
    /// 2027-01-01T00:00:00Z.
    static let end = Date(timeIntervalSince1970: 1_798_761_600)
    /// 2026-05-28, inside every credential's window here.
    static let midYear = Date(timeIntervalSince1970: 1_780_000_000)

    static func deviceCredential(issuer: String = VerifiableCredentialTests.issuer) -> Credential {
        Credential(
            id: "https://meshwork.example/credentials/1", types: ["DeviceAttestation"], issuer: issuer,
            validFrom: start, validUntil: end, subjectID: "did:example:device-17",
            claims: [
                "manufacturer": "Zürich Devices", "model": "charger/2", "firmware": ["major": 1, "minor": 4],
                "ratedKW": 22.5, "bidirectional": true, "notes": .null,
            ],
            status: StatusEntry(listURL: listURL, index: 94_567))
    }

    static func minimalCredential() -> Credential {
        Credential(issuer: issuer, validFrom: start, subjectID: "did:example:s")
    }

    /// `deviceCredential()` signed by an independent signer: Python (json.dumps with sort_keys, compact
    /// separators, ensure_ascii=False; pyca/cryptography Ed25519 with the same seed). jwcrypto verifies
    /// it: `vc_interop.py verify kat.jwt 03a107bf… --now 2026-06-01T00:00:00Z`.
    static let knownJWT = [
        "eyJhbGciOiJFZERTQSIsImN0eSI6InZjIiwia2lkIjoiZGlkOmtleTp6Nk1rZWhSZ2Y3eUpiZ2FHZllzZG9Bc0tkQlBFM2Rq",
        "MkNZaG93UWRjanFTSmd2VmQjejZNa2VoUmdmN3lKYmdhR2ZZc2RvQXNLZEJQRTNkajJDWWhvd1FkY2pxU0pndlZkIiwidHlw",
        "IjoidmMrand0In0.eyJAY29udGV4dCI6WyJodHRwczovL3d3dy53My5vcmcvbnMvY3JlZGVudGlhbHMvdjIiXSwiY3JlZGVu",
        "dGlhbFN0YXR1cyI6eyJpZCI6Imh0dHBzOi8vbWVzaHdvcmsuZXhhbXBsZS9zdGF0dXMvMSM5NDU2NyIsInN0YXR1c0xpc3RD",
        "cmVkZW50aWFsIjoiaHR0cHM6Ly9tZXNod29yay5leGFtcGxlL3N0YXR1cy8xIiwic3RhdHVzTGlzdEluZGV4IjoiOTQ1Njci",
        "LCJzdGF0dXNQdXJwb3NlIjoicmV2b2NhdGlvbiIsInR5cGUiOiJCaXRzdHJpbmdTdGF0dXNMaXN0RW50cnkifSwiY3JlZGVu",
        "dGlhbFN1YmplY3QiOnsiYmlkaXJlY3Rpb25hbCI6dHJ1ZSwiZmlybXdhcmUiOnsibWFqb3IiOjEsIm1pbm9yIjo0fSwiaWQi",
        "OiJkaWQ6ZXhhbXBsZTpkZXZpY2UtMTciLCJtYW51ZmFjdHVyZXIiOiJaw7xyaWNoIERldmljZXMiLCJtb2RlbCI6ImNoYXJn",
        "ZXIvMiIsIm5vdGVzIjpudWxsLCJyYXRlZEtXIjoyMi41fSwiaWQiOiJodHRwczovL21lc2h3b3JrLmV4YW1wbGUvY3JlZGVu",
        "dGlhbHMvMSIsImlzc3VlciI6ImRpZDprZXk6ejZNa2VoUmdmN3lKYmdhR2ZZc2RvQXNLZEJQRTNkajJDWWhvd1FkY2pxU0pn",
        "dlZkIiwidHlwZSI6WyJWZXJpZmlhYmxlQ3JlZGVudGlhbCIsIkRldmljZUF0dGVzdGF0aW9uIl0sInZhbGlkRnJvbSI6IjIw",
        "MjYtMDEtMDFUMDA6MDA6MDBaIiwidmFsaWRVbnRpbCI6IjIwMjctMDEtMDFUMDA6MDA6MDBaIn0.V7Qe_84olLO_XpKxyAge",
        "89L4-oTF8zi0IW-Kg1NGFkTqEB1hKFeJQTExj-pq4slpSOj1fTT4jpGJU1mE5zfjBA",
    ].joined()

    /// Issued by jwcrypto 1.6.1: `vc_interop.py issue 4242…42 did:key:z6MkghLt… did:example:jwcrypto-subject
    /// out.jwt --valid-from 2026-01-01T00:00:00Z --valid-until 2026-12-31T23:59:59Z --id urn:uuid:6f1c2a8e-…
    /// --status-list https://meshwork.example/status/1 --status-index 7`. Its payload escapes ü as \u00fc.
    static let jwcryptoJWT = [
        "eyJhbGciOiJFZERTQSIsImN0eSI6InZjIiwia2lkIjoiZGlkOmtleTp6Nk1rZ2hMdDFlOG0xZm1BTnNkSkpjbzNhQ0xWOFhu",
        "aWdyNVVXd0MzdTVpWkZQZDMjejZNa2doTHQxZThtMWZtQU5zZEpKY28zYUNMVjhYbmlncjVVV3dDM3U1aVpGUGQzIiwidHlw",
        "IjoidmMrand0In0.eyJAY29udGV4dCI6WyJodHRwczovL3d3dy53My5vcmcvbnMvY3JlZGVudGlhbHMvdjIiXSwiY3JlZGVu",
        "dGlhbFN0YXR1cyI6eyJpZCI6Imh0dHBzOi8vbWVzaHdvcmsuZXhhbXBsZS9zdGF0dXMvMSM3Iiwic3RhdHVzTGlzdENyZWRl",
        "bnRpYWwiOiJodHRwczovL21lc2h3b3JrLmV4YW1wbGUvc3RhdHVzLzEiLCJzdGF0dXNMaXN0SW5kZXgiOiI3Iiwic3RhdHVz",
        "UHVycG9zZSI6InJldm9jYXRpb24iLCJ0eXBlIjoiQml0c3RyaW5nU3RhdHVzTGlzdEVudHJ5In0sImNyZWRlbnRpYWxTdWJq",
        "ZWN0Ijp7ImlkIjoiZGlkOmV4YW1wbGU6andjcnlwdG8tc3ViamVjdCIsIm5hbWUiOiJaXHUwMGZjcmljaCBpbnRlcm9wIGRl",
        "dmljZSIsInJhdGVkS1ciOjExLCJ0YWdzIjpbImEvYiJdfSwiaWQiOiJ1cm46dXVpZDo2ZjFjMmE4ZS0wYjFkLTRjM2UtOWE1",
        "Ny0zZDJmMGU4YjdjNjEiLCJpc3N1ZXIiOiJkaWQ6a2V5Ono2TWtnaEx0MWU4bTFmbUFOc2RKSmNvM2FDTFY4WG5pZ3I1VVd3",
        "QzN1NWlaRlBkMyIsInR5cGUiOlsiVmVyaWZpYWJsZUNyZWRlbnRpYWwiLCJJbnRlcm9wQ3JlZGVudGlhbCJdLCJ2YWxpZEZy",
        "b20iOiIyMDI2LTAxLTAxVDAwOjAwOjAwWiIsInZhbGlkVW50aWwiOiIyMDI2LTEyLTMxVDIzOjU5OjU5WiJ9.nV4Tee-qy_R",
        "p9HDHEqlzFcNK8-d9qlDQw6eASDHvE3n_7SRL2oyt7tPR_6-FkhdjocXlvk0eMhUU-sXtPN3rCw",
    ].joined()

    /// The minimal credential's JSON object with `edit` applied, as payload bytes.
    static func payload(_ edit: (inout [String: JSONValue]) -> Void) -> [UInt8] {
        var object = minimalCredential().jsonObject
        edit(&object)
        return JSONValue.object(object).jsonBytes
    }

    // MARK: - Signing and verifying

    @Test func theTestKeyIsTheDIDKeyItClaims() throws {
        let key = try Self.issuerKey()
        #expect(key.publicKey.hex == Self.issuerPublicKeyHex)
        #expect(DIDKey(publicKey: key.publicKey).string == Self.issuer)
        #expect(VCJWT.kid(did: Self.issuer, key: key.publicKey) == Self.kid)
        #expect(Self.kid == DIDKey(publicKey: key.publicKey).verificationMethodID)
        // did:mesh keys are named as the identity module's DID documents name them: by multibase key.
        #expect(
            VCJWT.kid(did: "did:mesh:abc", key: key.publicKey)
                == "did:mesh:abc#z6MkehRgf7yJbgaGfYsdoAsKdBPE3dj2CYhowQdcjqSJgvVd")
    }

    @Test func aSignedCredentialVerifiesUnderItsKeyAndReadsBackEqual() throws {
        let key = try Self.issuerKey()
        let other = try Ed25519.PrivateKey(seed: [UInt8](repeating: 9, count: 32))
        let credential = Self.deviceCredential()
        let jwt = VCJWT.sign(credential, key: key, kid: Self.kid)
        #expect(try VCJWT.verify(jwt, keys: [other.publicKey, key.publicKey], now: Self.midYear) == credential)
        #expect(try VCJWT.verify(jwt, now: Self.midYear) == credential)
        let parsed = try VCJWT.parse(jwt)
        #expect(parsed.credential == credential)
        #expect(parsed.header["kid"] == .string(Self.kid))
        #expect(parsed.header["typ"] == .string("vc+jwt"))
        #expect(parsed.header["cty"] == .string("vc"))
        let parts = jwt.split(separator: ".").map(String.init)
        #expect(parsed.signingInput == Array((parts[0] + "." + parts[1]).utf8))
        #expect(Base64URL.encode(parsed.signature.rawBytes) == parts[2])
    }

    /// The signing input is the same bytes as an independent signer's; BoringSSL (swift-crypto on
    /// Linux) signs deterministically as RFC 8032 says, so there the whole JWS is too. CryptoKit on
    /// Apple platforms randomizes Ed25519 signatures, so there only the signing input is compared.
    @Test func signingIsDeterministicAndMatchesAnIndependentSigner() throws {
        let key = try Self.issuerKey()
        let jwt = VCJWT.sign(Self.deviceCredential(), key: key, kid: Self.kid)
        let parts = jwt.split(separator: ".").map(String.init)
        let knownParts = Self.knownJWT.split(separator: ".").map(String.init)
        #expect(parts[0] == knownParts[0])
        #expect(parts[1] == knownParts[1])
        #if os(Linux)
            #expect(jwt == Self.knownJWT)
        #endif
        #expect(VCJWT.sign(Self.deviceCredential(), key: key, kid: Self.kid).split(separator: ".")[1] == parts[1])
        let header = String(decoding: try #require(Base64URL.decode(parts[0])), as: UTF8.self)
        #expect(header == #"{"alg":"EdDSA","cty":"vc","kid":"\#(Self.kid)","typ":"vc+jwt"}"#)
        let payload = String(decoding: try #require(Base64URL.decode(parts[1])), as: UTF8.self)
        #expect(payload.hasPrefix(#"{"@context":["https://www.w3.org/ns/credentials/v2"],"credentialStatus":{"#))
        #expect(payload.contains(#""manufacturer":"Zürich Devices","model":"charger/2","notes":null,"ratedKW":22.5}"#))
        #expect(payload.hasSuffix(#""validFrom":"2026-01-01T00:00:00Z","validUntil":"2027-01-01T00:00:00Z"}"#))
        #expect(try VCJWT.verify(Self.knownJWT, now: Self.midYear) == Self.deviceCredential())
    }

    @Test func aCredentialIssuedByJwcryptoVerifies() throws {
        let issuer = "did:key:z6MkghLt1e8m1fmANsdJJco3aCLV8Xnigr5UWwC3u5iZFPd3"
        let key = try Ed25519.PublicKey(
            rawBytes: try Hex.decode("2152f8d19b791d24453242e15f2eab6cb7cffa7b6a5ed30097960e069881db12"))
        let credential = try VCJWT.verify(Self.jwcryptoJWT, keys: [key], now: Self.midYear)
        #expect(try VCJWT.verify(Self.jwcryptoJWT, now: Self.midYear) == credential)
        #expect(credential.issuer == issuer)
        #expect(credential.id == "urn:uuid:6f1c2a8e-0b1d-4c3e-9a57-3d2f0e8b7c61")
        #expect(credential.types == ["VerifiableCredential", "InteropCredential"])
        #expect(credential.subjectID == "did:example:jwcrypto-subject")
        #expect(credential.claims["name"] == .string("Zürich interop device"))
        #expect(credential.claims["ratedKW"] == .integer(11))
        #expect(credential.claims["tags"] == .array([.string("a/b")]))
        #expect(credential.validUntil == Date(timeIntervalSince1970: 1_798_761_599))
        #expect(credential.status == StatusEntry(listURL: Self.listURL, index: 7))
        let parsed = try VCJWT.parse(Self.jwcryptoJWT)
        #expect(parsed.header["kid"] == .string(issuer + "#z6MkghLt1e8m1fmANsdJJco3aCLV8Xnigr5UWwC3u5iZFPd3"))
    }

    @Test func aWrongKeyOrNoKnownKeyIsRefused() throws {
        let key = try Self.issuerKey()
        let other = try Ed25519.PrivateKey(seed: [UInt8](repeating: 9, count: 32))
        let jwt = VCJWT.sign(Self.deviceCredential(), key: key, kid: Self.kid)
        #expect(throws: VCError.badSignature) { try VCJWT.verify(jwt, keys: [other.publicKey], now: Self.midYear) }
        #expect(throws: VCError.unknownIssuerKey(Self.issuer)) { try VCJWT.verify(jwt, keys: [], now: Self.midYear) }
        // A did:key issuer names its key: a credential claiming another did:key but signed by us fails.
        let claimed = DIDKey(publicKey: other.publicKey).string
        let forged = VCJWT.sign(
            Self.deviceCredential(issuer: claimed), key: key, kid: VCJWT.kid(did: claimed, key: key.publicKey))
        #expect(throws: VCError.badSignature) { try VCJWT.verify(forged, now: Self.midYear) }
        // A did:mesh issuer's keys live on the ledger: the did:key shortcut does not know them.
        let meshIssuer = "did:mesh:4HzFp1W9mPgW3cGqkVr5Zt"
        let meshSigned = VCJWT.sign(
            Self.deviceCredential(issuer: meshIssuer), key: key, kid: VCJWT.kid(did: meshIssuer, key: key.publicKey))
        #expect(throws: VCError.unknownIssuerKey(meshIssuer)) { try VCJWT.verify(meshSigned, now: Self.midYear) }
        #expect(try VCJWT.verify(meshSigned, keys: [key.publicKey], now: Self.midYear).issuer == meshIssuer)
    }

    @Test func theValidityWindowAllowsClockSkewOnlyAtItsStart() throws {
        let key = try Self.issuerKey()
        let jwt = VCJWT.sign(Self.deviceCredential(), key: key, kid: Self.kid)
        func verify(at seconds: TimeInterval) throws {
            _ = try VCJWT.verify(jwt, keys: [key.publicKey], now: Date(timeIntervalSince1970: seconds))
        }
        let start = Self.start.timeIntervalSince1970
        let end = Self.end.timeIntervalSince1970
        try verify(at: end - 1)
        try verify(at: start - VCJWT.clockSkewSecondsMax + 1)
        #expect(throws: VCError.expired) { try verify(at: end) }
        #expect(throws: VCError.expired) { try verify(at: end + 86_400 * 365) }
        #expect(throws: VCError.notYetValid) { try verify(at: start - VCJWT.clockSkewSecondsMax - 1) }
        #expect(throws: VCError.notYetValid) { try verify(at: 0) }
        // JWT exp and nbf written beside validFrom and validUntil narrow the window.
        let withExp = compact(payload: Self.payload { $0["exp"] = .integer(1_770_000_000) }, key: key)
        _ = try VCJWT.verify(withExp, keys: [key.publicKey], now: Date(timeIntervalSince1970: 1_769_999_999))
        #expect(throws: VCError.expired) { try VCJWT.verify(withExp, keys: [key.publicKey], now: Self.midYear) }
        let withNbf = compact(payload: Self.payload { $0["nbf"] = .integer(1_775_000_000) }, key: key)
        _ = try VCJWT.verify(withNbf, keys: [key.publicKey], now: Self.midYear)
        #expect(throws: VCError.notYetValid) {
            try VCJWT.verify(withNbf, keys: [key.publicKey], now: Date(timeIntervalSince1970: 1_770_000_000))
        }
    }

    /// Every character of a short JWT replaced (by the next base64url character, which changes the
    /// lowest bit, unused bits of a last character included; by the one 32 further, which changes the
    /// highest; by a dot) and every character deleted: each variant is refused.
    @Test func everyOneCharacterChangeOfAJWTIsRefused() throws {
        let key = try Self.issuerKey()
        let jwt = VCJWT.sign(Self.minimalCredential(), key: key, kid: Self.kid)
        #expect(jwt.utf8.count == 603)
        _ = try VCJWT.verify(jwt, keys: [key.publicKey], now: Self.midYear)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        let characters = Array(jwt.utf8)
        var variants: [(position: Int, text: String)] = []
        for index in characters.indices {
            let value = alphabet.firstIndex(of: characters[index]) ?? 0
            for replacement in [alphabet[(value + 1) % 64], alphabet[(value + 32) % 64], UInt8(ascii: ".")]
            where replacement != characters[index] {
                var changed = characters
                changed[index] = replacement
                variants.append((index, String(decoding: changed, as: UTF8.self)))
            }
            var shorter = characters
            shorter.remove(at: index)
            variants.append((index, String(decoding: shorter, as: UTF8.self)))
        }
        #expect(variants.count >= characters.count * 3)
        for variant in variants {
            #expect(throws: VCError.self, "position \(variant.position)") {
                try VCJWT.verify(variant.text, keys: [key.publicKey], now: Self.midYear)
            }
        }
    }

    // MARK: - Refusing what is not a VC-JWT

    @Test func onlyThreePartsMakeACompactJWS() throws {
        let jwt = VCJWT.sign(Self.minimalCredential(), key: try Self.issuerKey(), kid: Self.kid)
        let parts = jwt.split(separator: ".").map(String.init)
        let shapes = [
            "", ".", "..", "...", parts[0], parts[0] + "." + parts[1], jwt + ".", jwt + "." + parts[2],
            parts[0] + "." + parts[1] + ".." + parts[2], "." + jwt, parts.joined(separator: ".."),
            String(repeating: ".", count: 5000),
        ]
        for shape in shapes {
            let code = refusal { () throws(VCError) in _ = try VCJWT.parse(shape) }
            #expect(code == 1, "\(shape.prefix(40))")
        }
    }

    @Test func oversizeTextIsRefusedBeforeDecoding() throws {
        let limit = VCJWT.bytesMax
        #expect(throws: VCError.tooLarge(bytes: limit + 1, limit: limit)) {
            _ = try VCJWT.parse(String(repeating: "A", count: limit + 1))
        }
        // At the limit the size passes and the shape is what is wrong.
        let atLimit = refusal { () throws(VCError) in _ = try VCJWT.parse(String(repeating: "A", count: limit)) }
        #expect(atLimit == 1)
        // A credential whose JWT outgrows the limit is signed, but not read back.
        let large = Credential(
            issuer: Self.issuer, validFrom: Self.start, subjectID: "did:example:s",
            claims: ["blob": .string(String(repeating: "x", count: 50_000))])
        let jwt = VCJWT.sign(large, key: try Self.issuerKey(), kid: Self.kid)
        #expect(jwt.utf8.count > limit)
        let code = refusal { () throws(VCError) in _ = try VCJWT.verify(jwt, keys: [], now: Self.midYear) }
        #expect(code == 2)
    }

    @Test func headersOtherThanEdDSAVCJWTAreRefused() throws {
        let body = Self.payload { _ in }
        let algorithms = [
            #"{"alg":"none","typ":"vc+jwt"}"#, #"{"alg":"HS256","typ":"vc+jwt"}"#, #"{"alg":"ES256","typ":"vc+jwt"}"#,
            #"{"alg":"eddsa","typ":"vc+jwt"}"#, #"{"alg":"Ed25519","typ":"vc+jwt"}"#, #"{"typ":"vc+jwt"}"#,
            #"{"alg":["EdDSA"],"typ":"vc+jwt"}"#,
        ]
        for header in algorithms {
            let code = refusal { () throws(VCError) in _ = try VCJWT.parse(compact(header: header, payload: body)) }
            #expect(code == 3, "\(header)")
        }
        let mediaTypes = [
            #"{"alg":"EdDSA"}"#, #"{"alg":"EdDSA","typ":"JWT"}"#, #"{"alg":"EdDSA","typ":"vp+jwt"}"#,
            #"{"alg":"EdDSA","typ":"vc+sd-jwt"}"#, #"{"alg":"EdDSA","typ":"vc+jwt","cty":"json"}"#,
            #"{"alg":"EdDSA","typ":5}"#,
        ]
        for header in mediaTypes {
            let code = refusal { () throws(VCError) in _ = try VCJWT.parse(compact(header: header, payload: body)) }
            #expect(code == 4, "\(header)")
        }
        let malformed = [
            #"{"alg":"EdDSA","typ":"vc+jwt","crit":["exp"]}"#, #"{"alg":"EdDSA","typ":"vc+jwt","b64":false}"#,
            #"{"alg":"EdDSA","typ":"vc+jwt","kid":5}"#, #"{"alg":"EdDSA","typ":"vc+jwt","kid":"did:key:other#k"}"#,
            #"{"alg":"EdDSA","typ":"vc+jwt","kid":"\#(Self.issuer)#"}"#, #"{"alg":"EdDSA","typ":"vc+jwt""#,
            "not json", "",
        ]
        for header in malformed {
            let code = refusal { () throws(VCError) in _ = try VCJWT.parse(compact(header: header, payload: body)) }
            #expect(code == 1, "\(header)")
        }
        // The media type may be written in full and in any case; a relative kid names the issuer too.
        let key = try Self.issuerKey()
        for header in [
            #"{"alg":"EdDSA","typ":"application/vc+jwt"}"#, #"{"alg":"EdDSA","typ":"VC+JWT","cty":"application/vc"}"#,
            ##"{"alg":"EdDSA","kid":"#key-1","typ":"vc+jwt"}"##,
        ] {
            let jwt = compact(header: header, payload: body, key: key)
            #expect(try VCJWT.verify(jwt, keys: [key.publicKey], now: Self.midYear) == Self.minimalCredential())
        }
    }

    @Test func payloadsThatAreNotAVC2CredentialAreRefused() throws {
        var cases: [(name: String, payload: [UInt8])] = []
        cases.append(("truncated JSON", Array(#"{"@context":"#.utf8)))
        cases.append(("text after the object", Array("{} x".utf8)))
        cases.append(("an array", Array("[]".utf8)))
        cases.append(("invalid UTF-8", [0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x31, 0x7D]))
        cases.append(("a member twice", Array(#"{"issuer":"a","issuer":"b"}"#.utf8)))
        let deep = "{\"a\":" + String(repeating: "[", count: 40) + String(repeating: "]", count: 40) + "}"
        cases.append(("nested 40 deep", Array(deep.utf8)))
        cases.append(("no @context", Self.payload { $0["@context"] = nil }))
        cases.append(("a context string", Self.payload { $0["@context"] = .string(VCJWT.contextV2) }))
        cases.append(
            (
                "the v1 context first",
                Self.payload { $0["@context"] = ["https://www.w3.org/2018/credentials/v1", .string(VCJWT.contextV2)] }
            ))
        cases.append(("no VerifiableCredential type", Self.payload { $0["type"] = ["DeviceAttestation"] }))
        cases.append(("a number among the types", Self.payload { $0["type"] = ["VerifiableCredential", 1] }))
        cases.append(("no issuer", Self.payload { $0["issuer"] = nil }))
        cases.append(("an empty issuer", Self.payload { $0["issuer"] = "" }))
        cases.append(("an issuer object without id", Self.payload { $0["issuer"] = ["name": "Meshwork"] }))
        cases.append(("no validFrom", Self.payload { $0["validFrom"] = nil }))
        cases.append(("month 13", Self.payload { $0["validFrom"] = "2026-13-01T00:00:00Z" }))
        cases.append(("no time zone", Self.payload { $0["validFrom"] = "2026-01-01T00:00:00" }))
        cases.append(("Unix seconds", Self.payload { $0["validFrom"] = .integer(1_767_225_600) }))
        cases.append(("validUntil before validFrom", Self.payload { $0["validUntil"] = "2025-01-01T00:00:00Z" }))
        cases.append(("no subject", Self.payload { $0["credentialSubject"] = nil }))
        cases.append(("a subject array", Self.payload { $0["credentialSubject"] = [["id": "did:example:s"]] }))
        cases.append(("a subject without id", Self.payload { $0["credentialSubject"] = ["name": "x"] }))
        cases.append(("a numeric id", Self.payload { $0["id"] = .integer(5) }))
        cases.append(("an iss that is not the issuer", Self.payload { $0["iss"] = "did:example:else" }))
        cases.append(("a sub that is not the subject", Self.payload { $0["sub"] = "did:example:else" }))
        cases.append(("exp as text", Self.payload { $0["exp"] = "tomorrow" }))
        cases.append(("nbf out of range", Self.payload { $0["nbf"] = .integer(.max) }))
        var entry = StatusEntry(listURL: Self.listURL, index: 7).jsonObject
        entry["statusListIndex"] = "007"
        cases.append(("a status index with leading zeros", Self.payload { $0["credentialStatus"] = .object(entry) }))
        entry["statusListIndex"] = .integer(7)
        cases.append(("a status index as a number", Self.payload { $0["credentialStatus"] = .object(entry) }))
        entry["statusListIndex"] = "2147483648"
        cases.append(("a status index past 2^31 - 1", Self.payload { $0["credentialStatus"] = .object(entry) }))
        for item in cases {
            let code = refusal { () throws(VCError) in _ = try VCJWT.parse(compact(payload: item.payload)) }
            #expect(code == 1, "\(item.name)")
        }
        var other = StatusEntry(listURL: Self.listURL, index: 7).jsonObject
        other["type"] = "StatusList2021Entry"
        var unsupported: [[UInt8]] = []
        unsupported.append(Self.payload { $0["credentialStatus"] = .object(other) })
        let entries: JSONValue = [.object(StatusEntry(listURL: Self.listURL, index: 7).jsonObject)]
        unsupported.append(Self.payload { $0["credentialStatus"] = entries })
        for payload in unsupported {
            let code = refusal { () throws(VCError) in _ = try VCJWT.parse(compact(payload: payload)) }
            #expect(code == 11)
        }
    }

    @Test func otherwiseShapedButValidCredentialsAreRead() throws {
        let key = try Self.issuerKey()
        var shapes: [[UInt8]] = []
        let issuerObject: JSONValue = ["id": .string(Self.issuer), "name": "Meshwork"]
        shapes.append(Self.payload { $0["issuer"] = issuerObject })
        shapes.append(Self.payload { $0["type"] = "VerifiableCredential" })
        let contexts: JSONValue = [.string(VCJWT.contextV2), ["@vocab": "https://meshwork.example/#"]]
        shapes.append(Self.payload { $0["@context"] = contexts })
        shapes.append(Self.payload { $0["iss"] = .string(Self.issuer) })
        // White space between tokens (no string here holds a comma).
        let spaced = JSONValue.object(Self.minimalCredential().jsonObject).jsonText
            .replacingOccurrences(of: ",", with: " ,\n ")
        shapes.append(Array(spaced.utf8))
        for payload in shapes {
            let jwt = compact(payload: payload, key: key)
            #expect(try VCJWT.verify(jwt, keys: [key.publicKey], now: Self.midYear) == Self.minimalCredential())
        }
    }

    // MARK: - JSON and dates

    @Test func jsonIsWrittenSortedCompactAndWithoutEscapedSlashes() throws {
        let value: JSONValue = [
            "b": "x/y\"\\\n\u{1}é", "a": [1, 2.5, true, .null], "B": [:], "ä": -0.5, "c": .number(.infinity),
        ]
        #expect(value.jsonText == #"{"B":{},"a":[1,2.5,true,null],"b":"x/y\"\\\n\u0001é","c":null,"ä":-0.5}"#)
        let finite: JSONValue = ["a": [1, 2.5, -7, "😀"], "b": ["c": .null, "d": 1e-7]]
        #expect(try JSONValue(jsonBytes: finite.jsonBytes) == finite)
        #expect(finite.jsonText == #"{"a":[1,2.5,-7,"😀"],"b":{"c":null,"d":1e-07}}"#)
    }

    @Test func theJSONReaderIsStrictAndBounded() throws {
        func read(_ text: String) throws(JSONParseError) -> JSONValue { try JSONValue(jsonBytes: Array(text.utf8)) }
        let numbers: JSONValue = [
            "a": [.integer(1), .integer(0), .number(1), .number(100), .integer(.max), .number(9.223372036854775808e18)]
        ]
        #expect(try read(" {\"a\" : [ 1 , -0 , 1.0 , 1e2 , 9223372036854775807 , 9223372036854775808 ] }\n") == numbers)
        #expect(try read(#""\ud83d\ude00 \u00e9 \/ \t""#) == .string("😀 é / \t"))
        let refused = [
            "", " ", "{", "[1,]", #"{"a":1,}"#, "01", "1.", ".5", "+1", "1e", "-", "tru", "nul", "NaN",
            #""\ud83d""#, #""\ude00""#, #""\x""#, "\"a\u{1}\"", #"{"a":1,"a":2}"#, "1e999", "[1] 2", "{a:1}", "'a'",
            #""abc"#, #"{"a" 1}"#,
        ]
        for text in refused {
            #expect(throws: JSONParseError.self, "\(text.debugDescription)") { try read(text) }
        }
        #expect(throws: JSONParseError.self) { try JSONValue(jsonBytes: [0x22, 0xC3, 0x22]) }
        let nested32 = String(repeating: "[", count: 32) + String(repeating: "]", count: 32)
        #expect(throws: Never.self) { try read(nested32) }
        #expect(throws: JSONParseError.self) { try read("[" + nested32 + "]") }
    }

    @Test func dateTimeStampsAreXMLSchemaTextInUTC() {
        func text(_ seconds: TimeInterval) -> String { DateTimeStamp.format(Date(timeIntervalSince1970: seconds)) }
        #expect(text(1_767_225_600) == "2026-01-01T00:00:00Z")
        #expect(text(951_782_400.9) == "2000-02-29T00:00:00Z")
        #expect(text(-1) == "1969-12-31T23:59:59Z")
        #expect(text(TimeInterval(DateTimeStamp.secondsMin)) == "0001-01-01T00:00:00Z")
        #expect(text(TimeInterval(DateTimeStamp.secondsMax)) == "9999-12-31T23:59:59Z")
        let afterMax = Date(timeIntervalSince1970: TimeInterval(DateTimeStamp.secondsMax) + 1)
        #expect(!DateTimeStamp.isRepresentable(afterMax))
        #expect(!DateTimeStamp.isRepresentable(Date(timeIntervalSince1970: .nan)))
        let newYear = Date(timeIntervalSince1970: 1_767_225_600)
        #expect(DateTimeStamp.parse("2026-01-01T00:00:00Z") == newYear)
        #expect(DateTimeStamp.parse("2026-01-01T02:00:00+02:00") == newYear)
        #expect(DateTimeStamp.parse("2025-12-31T19:00:00-05:00") == newYear)
        #expect(DateTimeStamp.parse("2026-01-01T00:00:00.25Z") == Date(timeIntervalSince1970: 1_767_225_600.25))
        #expect(DateTimeStamp.parse("2024-02-29T12:00:00Z") == Date(timeIntervalSince1970: 1_709_208_000))
        let refused = [
            "2026-01-01T00:00:00", "2026-01-01 00:00:00Z", "2026-13-01T00:00:00Z", "2025-02-29T00:00:00Z",
            "2026-01-01T24:00:00Z", "2026-01-01T00:60:00Z", "2026-01-01T00:00:60Z", "0000-01-01T00:00:00Z",
            "2026-01-01T00:00:00z", "2026-01-01T00:00:00+15:00", "2026-01-01T00:00:00.Z", "2026-1-01T00:00:00Z",
            "2026-01-01T00:00:00.1234567890Z", "+2026-01-01T00:00:00Z", "0001-01-01T00:00:00+01:00",
            "2026-01-01T00:00:00+0200", "2026-01-01T00:00:00Z ",
        ]
        for bad in refused { #expect(DateTimeStamp.parse(bad) == nil, "\(bad)") }
    }

    @Test func errorCodesAreStable() {
        let errors: [VCError] = [
            .malformed(""), .tooLarge(bytes: 0, limit: 0), .unsupportedAlgorithm(""), .unsupportedMediaType(""),
            .badSignature, .notYetValid, .expired, .unknownIssuerKey(""), .revoked(listURL: "", index: 0),
            .unknownStatusList(""), .unsupportedStatus(""), .malformedStatusList(""), .unsupportedCompression(""),
            .statusIndexOutOfRange(index: 0, count: 0),
        ]
        #expect(errors.map(\.code) == (1...14).map { UInt32($0) })
        #expect(errors.allSatisfy { $0.module == "vc" && !$0.message.isEmpty })
        #expect(VCError.badSignature.description == "vc/5: the credential is not signed by a key of its issuer")
    }
}

/// The `vc/…` code `body` throws, or nil when it returns.
func refusal(_ body: () throws(VCError) -> Void) -> UInt32? {
    do throws(VCError) {
        try body()
        return nil
    } catch {
        return error.code
    }
}

/// A compact JWS of `header` and `payload`, signed by `key`, or with 64 zero bytes for a signature.
private func compact(
    header: String = #"{"alg":"EdDSA","typ":"vc+jwt"}"#, payload: [UInt8], key: Ed25519.PrivateKey? = nil
) -> String {
    let input = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(payload)
    let signature = key.map { $0.signJWS(input).rawBytes } ?? [UInt8](repeating: 0, count: 64)
    return input + "." + Base64URL.encode(signature)
}
