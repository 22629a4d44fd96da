import ArgumentParser
import Foundation
import MeshCore
import MeshNode

/// `meshwork bench vc`: VC-JWT issue and verify per second, beside PyPI `jwcrypto` on the same
/// credentials in the same run.
struct VCBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vc",
        abstract: "Verifiable credentials (VC-JWT, EdDSA) issued and verified per second; vs jwcrypto.")

    @Flag(help: "Print the report as JSON.") var json = false
    @Option(help: "Credentials per measurement.") var count = 2_000
    @Flag(help: "Skip running jwcrypto (Python) as the peer.") var noPeer = false

    func validate() throws {
        guard (100...100_000).contains(count) else { throw ValidationError("--count must be in 100…100,000") }
    }

    struct Figures: Encodable {
        var issuedPerSecond: Double
        var verifiedPerSecond: Double
    }

    struct Report: Encodable {
        var machine: MachineInfo
        var credentials: Int
        var jwtBytes: Int
        var meshwork: Figures
        var jwcrypto: Figures?
        var peerNote: String
    }

    func run() throws {
        let key = try Ed25519.PrivateKey(seed: Hash256.sha256(Array("bench-vc-issuer".utf8)).bytes)
        let issuer = DIDKey(publicKey: key.publicKey).string
        let kid = VCJWT.kid(did: issuer, key: key.publicKey)
        let now = Date()
        let credentials = (0..<count).map { index in
            Credential(
                types: ["CalibrationCertificate"], issuer: issuer, validFrom: now,
                validUntil: now.addingTimeInterval(86_400), subjectID: "did:example:device-\(index)",
                claims: [
                    "sensor": .string("temp"), "offset": .integer(Int64(index % 7)), "calibratedBy": .string("lab-1"),
                ],
                status: StatusEntry(listURL: "http://127.0.0.1:8080/vc/status/\(issuer)", index: index))
        }
        let issueStart = DispatchTime.now().uptimeNanoseconds
        let jwts = credentials.map { VCJWT.sign($0, key: key, kid: kid) }
        let issueSeconds = Double(DispatchTime.now().uptimeNanoseconds - issueStart) / 1e9
        let verifyStart = DispatchTime.now().uptimeNanoseconds
        for jwt in jwts {
            guard
                case .success = Result(catching: { () throws(VCError) in
                    try VCJWT.verify(jwt, keys: [key.publicKey], now: now)
                })
            else { throw CommandFailure("a credential we issued does not verify") }
        }
        let verifySeconds = Double(DispatchTime.now().uptimeNanoseconds - verifyStart) / 1e9
        let ours = Figures(
            issuedPerSecond: Double(count) / issueSeconds, verifiedPerSecond: Double(count) / verifySeconds)
        var peer: Figures?
        var note = "skipped (--no-peer)"
        if !noPeer {
            (peer, note) = runJWCrypto(jwts: jwts, seed: key.seed)
        }
        let report = Report(
            machine: .current, credentials: count, jwtBytes: jwts.first?.utf8.count ?? 0, meshwork: ours,
            jwcrypto: peer,
            peerNote: note)
        if json {
            try printJSON(report)
            return
        }
        print("machine: \(report.machine.cpu), one core; \(count) credentials of \(report.jwtBytes) bytes")
        print(String(format: "meshwork: issue %.0f/s, verify %.0f/s", ours.issuedPerSecond, ours.verifiedPerSecond))
        if let peer {
            print(String(format: "jwcrypto: issue %.0f/s, verify %.0f/s", peer.issuedPerSecond, peer.verifiedPerSecond))
        } else {
            print("jwcrypto: \(note)")
        }
    }

    /// jwcrypto verifies our credentials and signs the same payloads with the same key (one core).
    private func runJWCrypto(jwts: [String], seed: [UInt8]) -> (Figures?, String) {
        let script = """
            import base64, json, sys, time
            from jwcrypto import jwk, jws
            from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
            from cryptography.hazmat.primitives import serialization
            seed = bytes.fromhex(sys.argv[1])
            jwts = [line.strip() for line in open(sys.argv[2]) if line.strip()]
            private = Ed25519PrivateKey.from_private_bytes(seed)
            public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
            key = jwk.JWK(kty="OKP", crv="Ed25519", d=b64(seed), x=b64(public))
            start = time.perf_counter()
            for token in jwts:
                verifier = jws.JWS()
                verifier.deserialize(token)
                verifier.verify(key, alg="EdDSA")
            verify = time.perf_counter() - start
            payloads = [base64.urlsafe_b64decode(t.split(".")[1] + "==") for t in jwts]
            start = time.perf_counter()
            for payload in payloads:
                signer = jws.JWS(payload)
                signer.add_signature(key, None, json.dumps({"alg": "EdDSA", "typ": "vc+jwt"}))
                signer.serialize(compact=True)
            issue = time.perf_counter() - start
            print(json.dumps({"issue": len(jwts) / issue, "verify": len(jwts) / verify}))
            """
        let folder = NSTemporaryDirectory() + "meshwork-bench-vc-\(UUID().uuidString)"
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            try Data(script.utf8).write(to: URL(fileURLWithPath: folder + "/peer.py"))
            try Data(jwts.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: folder + "/jwts.txt"))
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", folder + "/peer.py", Hex.encode(seed), folder + "/jwts.txt"]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = Pipe()
            try process.run()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard process.terminationStatus == 0,
                let object = try JSONSerialization.jsonObject(with: data) as? [String: Double],
                let issue = object["issue"], let verify = object["verify"]
            else { return (nil, "jwcrypto not available (python3 -m pip install jwcrypto)") }
            return (
                Figures(issuedPerSecond: issue, verifiedPerSecond: verify),
                "jwcrypto (PyPI) on the same credentials and key, one core, in this run"
            )
        } catch {
            return (nil, "jwcrypto could not run: \(error)")
        }
    }
}
