import Foundation
public import MeshAPI
public import MeshCore
public import MeshLedger

/// What a provenance proof claims once its own bytes check out: the record, and the anchor the
/// chain must hold for it (node, batch, root, size).
public struct CheckedProvenance: Sendable {
    /// The proven record.
    public var record: ProvenanceRecord
    /// The tree head the record's node must have anchored for its batch.
    public var head: MerkleTreeHead
}

extension ProvenanceProofView {
    /// Checks everything in the proof that needs no chain: the record bytes decode and agree with
    /// the readable fields; `payload` (when given, else the proof's own `payload`) hashes to the
    /// record's payload hash (an envelope is unwrapped first); a device signature covers it; the
    /// audit path leads from the record to `root`. What remains is to prove, against a verified
    /// header, that the record's node anchored `root` with this size for its batch (and, for a
    /// device-signed record, that the key was the device's): `LightClient` and
    /// `GET /provenance/anchors` do that.
    public func check(payload given: [UInt8]? = nil) throws(SDKError) -> CheckedProvenance {
        let record: ProvenanceRecord
        let leaf: [UInt8]
        do {
            leaf = try Hex.decode(self.record)
            record = try ProvenanceRecord(canonicalBytes: leaf)
        } catch {
            throw .malformedProof("the record does not decode: \(error)")
        }
        let readable: [(String, String, String)] = [
            ("device", device, record.device.description), ("topic", topic, record.topic),
            ("payloadHash", payloadHash, record.payloadHash.hex), ("node", node, record.node.description),
            ("batch", String(batch), String(record.batchHeight)),
            ("receivedAtMs", String(receivedAtMs), String(record.receivedAtMs)),
            ("deviceSigned", String(deviceSigned), String(record.isDeviceSigned)),
        ]
        for (name, stated, recorded) in readable where stated != recorded {
            throw .notProven("\(name) says \(stated) but the record holds \(recorded)")
        }
        var payloadBytes = given
        if payloadBytes == nil, let text = payload {
            guard let data = Data(base64Encoded: text) else { throw .malformedProof("payload is not base64") }
            payloadBytes = Array(data)
        }
        if let bytes = payloadBytes {
            let inner: [UInt8]
            do { inner = try DeviceEnvelope.parse(bytes)?.payload ?? bytes } catch {
                throw .malformedProof("the payload starts like a device envelope but is not one: \(error)")
            }
            guard Hash256.sha256(inner) == record.payloadHash else {
                throw .notProven("the payload's SHA-256 is not the record's payload hash")
            }
        }
        if let signature = record.deviceSignature,
            !signature.isValid(device: record.device, topic: record.topic, payloadHash: record.payloadHash)
        {
            throw .notProven("the device's signature does not cover the record")
        }
        let head: MerkleTreeHead
        let inclusion: InclusionProof
        do {
            guard let rootHash = Hash256(bytes: try Hex.decode(root)) else { throw SDKError.malformedProof("root") }
            head = MerkleTreeHead(size: treeSize, root: rootHash)
            guard path.count <= InclusionProof.pathCountMax else { throw SDKError.malformedProof("path too long") }
            let hashes = try path.map { text in
                guard let hash = Hash256(bytes: try Hex.decode(text)) else { throw SDKError.malformedProof("path") }
                return hash
            }
            inclusion = InclusionProof(leafIndex: leafIndex, path: hashes)
        } catch {
            throw .malformedProof("root or path is not hex hashes: \(error)")
        }
        guard inclusion.verify(leafHash: MerkleHashing.leafHash(leaf), head: head) else {
            throw .notProven("the audit path does not lead from the record to the root")
        }
        return CheckedProvenance(record: record, head: head)
    }
}
