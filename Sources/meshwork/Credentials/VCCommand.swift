import ArgumentParser
import Foundation
import MeshAPI
import MeshCore
import MeshLedger
import MeshNode
import MeshSDK

/// `meshwork vc …`: W3C Verifiable Credentials (VC Data Model 2.0) secured as VC-JWT (EdDSA),
/// revoked through a Bitstring Status List kept on the ledger.
struct VCCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vc",
        abstract: "Issue, verify, revoke and check W3C Verifiable Credentials (VC-JWT, EdDSA).",
        discussion: """
            A credential is a signed JWT whose claims are the VC 2.0 document. Its status entry points \
            at the issuer's revocation list on the ledger (131,072 bits): `vc revoke` sets its bit in one \
            transaction, and every verifier sees it from the next block.
            """,
        subcommands: [Issue.self, Verify.self, Revoke.self, Status.self])

    struct Issue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Sign a credential (prints the VC-JWT).")

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @Option(help: "Keystore key of the issuer.") var issuer: String
        @Option(name: .customLong("as"), help: "Issue as this DID (a did:mesh whose current key --issuer holds).")
        var issuerDID: String?
        @Option(help: "The subject (DID or key name).") var subject: String
        @Option(help: "The credential type, e.g. CalibrationCertificate.") var type: String
        @Option(help: "A JSON file: an object of claims about the subject.") var claims: String?
        @Option(help: "Valid for this long: a number of seconds, or with s, m, h or d (default: no end).")
        var validFor: String?
        @Option(help: "Its index in the issuer's revocation list (default: the next unused one kept in --home).")
        var index: Int?
        @Flag(help: "No status entry: the credential cannot be revoked.") var noStatus = false
        @Option(
            name: [.customShort("o"), .customLong("out")],
            help: "Write the VC-JWT to this file instead of standard output.")
        var output: String?

        func run() async throws {
            let key = try unlockKey(issuer, home: home)
            let issuerID = try signer(issuerDID, from: issuer, home: home) ?? .key(key.publicKey)
            if case .key(let other) = issuerID, other != key.publicKey {
                throw ValidationError("--as \(issuerID) is another key's did:key: only that key signs for it")
            }
            let subjectID = try accountDID(subject, home: home)
            var claimValues: [String: JSONValue] = [:]
            if let claims {
                guard let data = FileManager.default.contents(atPath: claims) else {
                    throw ValidationError("cannot read \(claims)")
                }
                do {
                    guard case .object(let object) = try JSONValue(jsonBytes: Array(data)) else {
                        throw ValidationError("\(claims) must hold a JSON object")
                    }
                    claimValues = object
                } catch let error as JSONParseError {
                    throw ValidationError("\(claims) is not JSON: \(error)")
                }
            }
            let now = Date()
            let validUntil = try validFor.map { now.addingTimeInterval(Double(try seconds(of: $0))) }
            var status: StatusEntry?
            if !noStatus {
                let slot = try index ?? IssuerIndex.take(home: home, issuer: issuerID)
                guard (0..<BitstringStatusList.entries).contains(slot) else {
                    throw ValidationError("--index must be below \(BitstringStatusList.entries)")
                }
                status = StatusEntry(listURL: "\(options.node)/vc/status/\(issuerID)", index: slot)
            }
            let credential = Credential(
                types: [type], issuer: issuerID.description, validFrom: now, validUntil: validUntil,
                subjectID: subjectID.description, claims: claimValues, status: status)
            let jwt = VCJWT.sign(credential, key: key, kid: VCJWT.kid(did: issuerID.description, key: key.publicKey))
            if let output {
                try Data((jwt + "\n").utf8).write(to: URL(fileURLWithPath: output))
                printError("wrote \(output) (status index \(status.map { String($0.index) } ?? "none"))")
            } else {
                print(jwt)
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify a VC-JWT: signature, validity, revocation, and an embedded ledger proof.",
            discussion: """
                The issuer's keys come from its DID (a did:mesh's from the ledger). With --offline nothing \
                is asked of a node: only did:key issuers, no revocation check, and a reputation credential's \
                embedded proof is checked with the light client from the genesis file.
                """)

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @Argument(help: "A file holding the VC-JWT.") var file: String
        @Flag(help: "Ask no node (see above).") var offline = false
        @Option(help: "Genesis file for the light client (default: <home>/genesis.json or <home>/node-0/genesis.json).")
        var genesis: String?

        func run() async throws {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ValidationError("cannot read \(file)")
            }
            let jwt = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            let parsed = try parseCredential(jwt, refusal: "INVALID")
            let keys = try await issuerKeys(parsed.issuer)
            let credential: Credential
            switch vcResult({ () throws(VCError) in try VCJWT.verify(jwt, keys: keys, now: Date()) }) {
            case .success(let verified): credential = verified
            case .failure(let error): throw CommandFailure("INVALID: \(error.message) [vc/\(error.code)]")
            }
            var notes: [String] = []
            if credential.status != nil {
                if offline {
                    notes.append("revocation not checked (offline)")
                } else {
                    try await checkRevocation(credential)
                    notes.append("not revoked")
                }
            }
            if credential.types.contains(ReputationCredential.type) {
                let height = try ReputationCredential.verifyProof(credential, genesis: try genesisPath())
                notes.append("reputation proven by the light client at height \(height)")
            }
            report(
                [
                    "valid": true, "issuer": credential.issuer, "subject": credential.subjectID,
                    "types": credential.types, "checks": notes,
                ], output: options.output,
                line:
                    "VALID: \(credential.types.last ?? "credential") for \(credential.subjectID) by \(credential.issuer)"
                    + (notes.isEmpty ? "" : "; " + notes.joined(separator: "; ")))
        }

        func genesisPath() throws -> String {
            if let genesis { return genesis }
            for candidate in [home.directory + "/genesis.json", home.directory + "/node-0/genesis.json"]
            where FileManager.default.fileExists(atPath: candidate) {
                return candidate
            }
            throw ValidationError("no genesis file in \(home.directory); pass --genesis")
        }

        func issuerKeys(_ issuer: String) async throws -> [Ed25519.PublicKey] {
            let did: DID
            do { did = try DID(string: issuer) } catch {
                throw CommandFailure("INVALID: the issuer '\(issuer.prefix(80))' is not a DID [vc/8]")
            }
            if case .key(let key) = did { return [key] }
            guard !offline else {
                throw CommandFailure("INVALID: a did:mesh issuer's keys are on the ledger; verify online [vc/8]")
            }
            let client = try options.client()
            let bytes = try await sdk { () async throws(SDKError) in try await client.resolveDID(did) }
            return DIDDocumentKeys.keys(in: bytes)
        }

        func checkRevocation(_ credential: Credential) async throws {
            guard let issuer = try? DID(string: credential.issuer) else { return }
            let client = try options.client()
            let list = try await sdk { () async throws(SDKError) in try await client.revocationList(of: issuer) }
            guard case .object(let subject)? = list.credential["credentialSubject"],
                case .string(let encoded)? = subject["encodedList"]
            else { throw CommandFailure("the node's revocation list has no encodedList") }
            // Only the issuer's own list on the ledger answers: an entry naming any other list is
            // an unknown list (vc/10), never checked against this one.
            let outcome = vcResult { () throws(VCError) in
                let bits = try BitstringStatusList.decode(encoded)
                try BitstringStatusList.checkRevocation(of: credential) { url in
                    IssuerList.isList(url, of: issuer) ? bits : nil
                }
            }
            if case .failure(let error) = outcome {
                throw CommandFailure("INVALID: \(error.message) [vc/\(error.code)]")
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a credential you issued (sets its bit in your list on the ledger).")

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @Option(help: "Keystore key of the issuer.") var issuer: String
        @Option(name: .customLong("as"), help: "Revoke as this DID (default: as in pay).") var issuerDID: String?
        @Option(help: "The status index (or give the credential's file).") var index: Int?
        @Argument(help: "A file holding the VC-JWT.") var file: String?

        func run() async throws {
            let key = try unlockKey(issuer, home: home)
            var slot = index
            if slot == nil, let file {
                guard let data = FileManager.default.contents(atPath: file) else {
                    throw ValidationError("cannot read \(file)")
                }
                let jwt = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                slot = try parseCredential(jwt).status?.index
            }
            guard let slot else {
                throw ValidationError("pass --index N or the credential's file (with a status entry)")
            }
            guard (0..<BitstringStatusList.entries).contains(slot) else {
                let error = VCError.statusIndexOutOfRange(index: slot, count: BitstringStatusList.entries)
                throw CommandFailure("\(error.message) [vc/\(error.code)]")
            }
            let (_, result) = try await submitAndWait(
                [.revokeCredential(RevokeCredential(index: UInt64(slot)))], key: key,
                signer: try signer(issuerDID, from: issuer, home: home), options: options, what: "revoke \(slot)")
            report(
                ["index": slot, "height": result.height], output: options.output,
                line: "credential \(slot) revoked from block \(result.height.map(String.init) ?? "?")")
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Whether a credential is revoked now.")

        @OptionGroup var options: ClientOptions
        @Argument(help: "A file holding the VC-JWT.") var file: String

        func run() async throws {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ValidationError("cannot read \(file)")
            }
            let jwt = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            let credential = try parseCredential(jwt)
            guard let status = credential.status else {
                report(["status": "none"], output: options.output, line: "no status entry: it cannot be revoked")
                return
            }
            guard let issuer = try? DID(string: credential.issuer) else {
                throw CommandFailure("the issuer '\(credential.issuer.prefix(80))' is not a DID [vc/8]")
            }
            guard status.index < BitstringStatusList.entries else {
                let error = VCError.statusIndexOutOfRange(index: status.index, count: BitstringStatusList.entries)
                throw CommandFailure("\(error.message) [vc/\(error.code)]")
            }
            guard IssuerList.isList(status.listURL, of: issuer) else {
                let error = VCError.unknownStatusList(String(status.listURL.prefix(256)))
                throw CommandFailure("\(error.message) [vc/\(error.code)]")
            }
            let client = try options.client()
            let list = try await sdk { () async throws(SDKError) in try await client.revocationList(of: issuer) }
            guard case .object(let subject)? = list.credential["credentialSubject"],
                case .string(let encoded)? = subject["encodedList"]
            else { throw CommandFailure("the node's revocation list has no encodedList") }
            let bits: [UInt8]
            switch vcResult({ () throws(VCError) in try BitstringStatusList.decode(encoded) }) {
            case .success(let decoded): bits = decoded
            case .failure(let error): throw CommandFailure("\(error.message) [vc/\(error.code)]")
            }
            let revoked = status.index < BitstringStatusList.entries && BitstringStatusList.isSet(bits, status.index)
            report(
                ["status": revoked ? "revoked" : "valid", "index": status.index, "height": list.height],
                output: options.output,
                line: "\(revoked ? "REVOKED" : "not revoked") (index \(status.index), height \(list.height))")
        }
    }
}

/// Revocation lists this CLI reads: the issuer's own, on the ledger (`…/vc/status/<issuer>`).
enum IssuerList {
    static func isList(_ url: String, of issuer: DID) -> Bool {
        guard let parsed = URL(string: url), parsed.scheme == "http" || parsed.scheme == "https" else { return false }
        return parsed.path == "/vc/status/\(issuer)"
    }
}

/// `body`'s value or its `VCError`.
func vcResult<T>(_ body: () throws(VCError) -> T) -> Result<T, VCError> {
    do throws(VCError) { return .success(try body()) } catch { return .failure(error) }
}

/// The credential in a VC-JWT (not yet verified), or one sentence with its code.
func parseCredential(_ jwt: String, refusal: String = "not a credential") throws -> Credential {
    switch vcResult({ () throws(VCError) in try VCJWT.parse(jwt).credential }) {
    case .success(let credential): return credential
    case .failure(let error): throw CommandFailure("\(refusal): \(error.message) [vc/\(error.code)]")
    }
}

/// Seconds in "90", "90s", "15m", "2h", "30d".
func seconds(of text: String) throws -> Int {
    let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
    let unit = text.last.flatMap { units[$0] }
    let number = unit == nil ? text : String(text.dropLast())
    guard let value = Int(number), value > 0 else { throw ValidationError("'\(text)' is not a duration") }
    return value * (unit ?? 1)
}

/// The next unused index of an issuer's revocation list, kept in `<home>/vc/<issuer>.next`.
enum IssuerIndex {
    static func take(home: HomeOptions, issuer: DID) throws -> Int {
        let directory = home.directory + "/vc"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/" + issuer.description.replacingOccurrences(of: ":", with: "_") + ".next"
        let current =
            FileManager.default.contents(atPath: path).flatMap { Int(String(decoding: $0, as: UTF8.self)) } ?? 0
        try Data(String(current + 1).utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        return current
    }
}

/// The Ed25519 keys a W3C DID resolution names (`publicKeyMultibase` of each verification method).
enum DIDDocumentKeys {
    static func keys(in resolution: [UInt8]) -> [Ed25519.PublicKey] {
        guard let value = try? JSONValue(jsonBytes: resolution) else { return [] }
        var found: [Ed25519.PublicKey] = []
        func walk(_ value: JSONValue) {
            switch value {
            case .object(let object):
                if case .string(let multibase)? = object["publicKeyMultibase"],
                    let key = try? DIDKey(string: DIDKey.prefix + multibase).publicKey
                {
                    found.append(key)
                }
                for child in object.values { walk(child) }
            case .array(let array): for child in array { walk(child) }
            default: break
            }
        }
        walk(value)
        return found
    }
}
