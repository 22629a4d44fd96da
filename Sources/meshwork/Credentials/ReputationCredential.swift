import ArgumentParser
import Foundation
import MeshAPI
import MeshConsensus
import MeshCore
import MeshLedger
import MeshNode
import MeshSDK

/// A reputation credential: a VC whose claims are a DID's score and its inputs at a height, and
/// which carries that state's proof (entries, the header and commit of the next block, and that
/// block's validator set), so a verifier checks the issuer's JWS and then the proof with the
/// light client from the genesis file: trust does not rest on the issuing node, nor on the issuer
/// for the score.
enum ReputationCredential {
    static let type = "ReputationCredential"
    /// How far the proven header's time may be from the credential's `validFrom`.
    static let freshnessMs: UInt64 = 600_000

    /// The credential for `subject` from a node's proven answer.
    static func make(
        subject: DID, issuer: DID, client: MeshClient, validUntil: Date?, status: StatusEntry?
    ) async throws -> Credential {
        let answer = try await sdk { () async throws(SDKError) in try await client.reputation(subject, prove: true) }
        guard let proof = answer.proof else { throw CommandFailure("the node sent no proof of the reputation") }
        let validators = try await sdk { () async throws(SDKError) in
            try await client.validators(height: proof.height + 1)
        }
        let header = try BlockHeader(canonicalBytes: try Hex.decode(proof.header))
        let proofJSON = try JSONValue(jsonBytes: Array(try JSONEncoder().encode(proof)))
        let claims: [String: JSONValue] = [
            "score": .integer(Int64(answer.score)), "oracleInBand": .integer(Int64(answer.oracleInBand)),
            "oracleOutOfBand": .integer(Int64(answer.oracleOutOfBand)),
            "oracleSlashes": .integer(Int64(answer.oracleSlashes)),
            "storagePassed": .integer(Int64(answer.storagePassed)),
            "validatorSlashes": .integer(Int64(answer.validatorSlashes)),
            "storageFailed": .integer(Int64(answer.storageFailed)), "height": .integer(Int64(answer.height)),
            "chainId": .string(header.chainId), "appHash": .string(header.appHash.hex), "proof": proofJSON,
            "validators": .string(validators.set),
        ]
        return Credential(
            types: [type], issuer: issuer.description, validFrom: Date(), validUntil: validUntil,
            subjectID: subject.description, claims: claims, status: status)
    }

    /// Checks a verified credential's embedded proof offline and that it says what the claims say;
    /// returns the proven height.
    static func verifyProof(_ credential: Credential, genesis path: String) throws -> UInt64 {
        guard case .object(let proofObject)? = credential.claims["proof"],
            case .string(let validators)? = credential.claims["validators"]
        else { throw CommandFailure("INVALID: the reputation credential carries no proof") }
        let bundle: ProofBundle
        do {
            bundle = try JSONDecoder().decode(ProofBundle.self, from: Data(JSONValue.object(proofObject).jsonBytes))
        } catch { throw CommandFailure("INVALID: the embedded proof does not decode: \(error)") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("cannot read \(path)")
        }
        let genesis: Genesis
        do { genesis = try Genesis.decode(json: Array(data)) } catch { throw CommandFailure("\(path): \(error)") }
        let subject: DID
        do { subject = try DID(string: credential.subjectID) } catch {
            throw CommandFailure("INVALID: the subject is not a DID")
        }
        do {
            let light = try LightClient(trusting: try LightClient.genesisState(genesis), client: NoNode())
            let (view, _) = try light.verifyOffline(bundle, validators: validators)
            // The header the proof was checked against is the one the claims name.
            let header = try BlockHeader(canonicalBytes: try Hex.decode(bundle.header))
            guard credential.claims["appHash"] == .string(header.appHash.hex),
                credential.claims["chainId"] == .string(header.chainId)
            else {
                throw CommandFailure("INVALID: the credential's appHash or chainId is not the proven header's")
            }
            // The score is as of when it was issued: a proof much older than validFrom could hide
            // what happened in between (a slash).
            let issuedMs = UInt64(max(0, credential.validFrom.timeIntervalSince1970 * 1000))
            let gap = issuedMs > header.timeMs ? issuedMs - header.timeMs : header.timeMs - issuedMs
            guard gap <= Self.freshnessMs else {
                throw CommandFailure(
                    "INVALID: the proof is \(gap / 1000) s from the credential's validFrom (at most \(Self.freshnessMs / 1000) s)"
                )
            }
            let proven = try view.reputation(of: subject)
            let expected: [String: UInt64] = [
                "score": proven.score, "oracleInBand": proven.oracleInBand, "oracleOutOfBand": proven.oracleOutOfBand,
                "oracleSlashes": proven.oracleSlashes, "storagePassed": proven.storagePassed,
                "validatorSlashes": proven.validatorSlashes,
                "storageFailed": proven.storageFailed, "height": bundle.height,
            ]
            for (name, value) in expected where credential.claims[name] != .integer(Int64(value)) {
                throw CommandFailure("INVALID: the proof says \(name) = \(value), the credential says otherwise")
            }
        } catch let error as SDKError {
            throw CommandFailure("INVALID: the embedded proof does not verify: \(sentence(error))")
        } catch let error as CommandFailure {
            throw error
        } catch {
            throw CommandFailure("INVALID: the embedded proof does not cover the reputation of \(subject)")
        }
        return bundle.height
    }

    /// A light-client source for offline checks: there is no node.
    struct NoNode: LightClientSource {
        func block(_ height: UInt64?) async throws(SDKError) -> BlockView { throw .untrusted("offline: no node") }
        func validators(height: UInt64?) async throws(SDKError) -> ValidatorsView {
            throw .untrusted("offline: no node")
        }
    }
}

extension ReputationCommand {
    struct CredentialCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "credential",
            abstract: "Issue a reputation credential for a DID: its score and inputs, with the ledger's proof embedded."
        )

        @OptionGroup var home: HomeOptions
        @OptionGroup var options: ClientOptions
        @Argument(help: "The subject (DID or key name).") var did: String
        @Option(help: "Keystore key of the issuer.") var issuer: String
        @Option(name: .customLong("as"), help: "Issue as this DID (default: as in pay).") var issuerDID: String?
        @Option(help: "Valid for this long (default 30d).") var validFor = "30d"
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
            let subject = try accountDID(did, home: home)
            let client = try options.client()
            let status =
                noStatus
                ? nil
                : StatusEntry(
                    listURL: "\(options.node)/vc/status/\(issuerID)",
                    index: try IssuerIndex.take(home: home, issuer: issuerID))
            let credential = try await ReputationCredential.make(
                subject: subject, issuer: issuerID, client: client,
                validUntil: Date().addingTimeInterval(Double(try seconds(of: validFor))), status: status)
            let jwt = VCJWT.sign(credential, key: key, kid: VCJWT.kid(did: issuerID.description, key: key.publicKey))
            if let output {
                try Data((jwt + "\n").utf8).write(to: URL(fileURLWithPath: output))
                printError("wrote \(output): score \(credential.claims["score"].map { $0.jsonText } ?? "?")")
            } else {
                print(jwt)
            }
        }
    }
}
