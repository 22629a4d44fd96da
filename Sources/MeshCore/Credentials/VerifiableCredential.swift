public import Foundation

/// A W3C Verifiable Credential (VC Data Model 2.0) about one subject, as this node issues and reads
/// them: `@context` is the v2 context alone, one `credentialSubject` object with an `id`, at most one
/// `credentialStatus` (a `BitstringStatusListEntry`). Other top-level properties of a credential read
/// from outside are not kept.
public struct Credential: Sendable, Equatable {
    /// `id`: the credential's own URL or URN, if it has one.
    public var id: String?
    /// `type`: always starts with `VerifiableCredential`, then the others in order, each once.
    public var types: [String]
    /// `issuer`: the issuer's DID (read from a string or from an object's `id`).
    public var issuer: String
    /// `validFrom`; written to the second, rounded down.
    public var validFrom: Date
    /// `validUntil`, if the credential expires; written to the second, rounded down.
    public var validUntil: Date?
    /// `credentialSubject.id`.
    public var subjectID: String
    /// The other members of `credentialSubject`; an `id` here is replaced by `subjectID` when written.
    public var claims: [String: JSONValue]
    /// `credentialStatus`, if the credential can be revoked.
    public var status: StatusEntry?

    /// The type every credential has, written first.
    public static let baseType = "VerifiableCredential"

    /// A credential; `types` gets `VerifiableCredential` put first (and any repeat of a type dropped).
    public init(
        id: String? = nil, types: [String] = [], issuer: String, validFrom: Date, validUntil: Date? = nil,
        subjectID: String, claims: [String: JSONValue] = [:], status: StatusEntry? = nil
    ) {
        self.id = id
        self.types = Self.normalized(types)
        self.issuer = issuer
        self.validFrom = validFrom
        self.validUntil = validUntil
        self.subjectID = subjectID
        self.claims = claims
        self.status = status
    }

    /// `VerifiableCredential` first, then `types` in order without repeats.
    static func normalized(_ types: [String]) -> [String] {
        var seen: Set<String> = [baseType]
        var result = [baseType]
        for type in types where seen.insert(type).inserted { result.append(type) }
        return result
    }
}

/// A `BitstringStatusListEntry` (VC Bitstring Status List v1.0 §2.1): bit `index` of the list
/// published at `listURL`, for `purpose`.
public struct StatusEntry: Sendable, Equatable {
    /// `statusListCredential`: the URL of the status list credential.
    public var listURL: String
    /// `statusListIndex`, written as a decimal string.
    public var index: Int
    /// `statusPurpose`; this node writes and checks `revocation` only.
    public var purpose: String

    /// The only `type` written and read.
    public static let typeName = "BitstringStatusListEntry"
    /// The purpose this node writes and checks.
    public static let revocation = "revocation"
    /// Largest index read (the list is at most 2^31 bits).
    public static let indexMax = Int(Int32.max)

    /// An entry; `index` must be between 0 and `indexMax`.
    public init(listURL: String, index: Int, purpose: String = StatusEntry.revocation) {
        precondition((0...Self.indexMax).contains(index), "a status index is between 0 and 2^31 - 1")
        self.listURL = listURL
        self.index = index
        self.purpose = purpose
    }
}

// MARK: - JSON

extension Credential {
    /// The credential as the JSON object VC 2.0 defines, which VC-JOSE-COSE signs as the JWT claims set.
    /// The caller keeps `validFrom` and `validUntil` representable (`DateTimeStamp.isRepresentable`).
    public var jsonObject: [String: JSONValue] {
        var subject = claims
        subject["id"] = .string(subjectID)
        var object: [String: JSONValue] = [
            "@context": .array([.string(VCJWT.contextV2)]),
            "type": .array(Self.normalized(types).map(JSONValue.string)),
            "issuer": .string(issuer),
            "validFrom": .string(DateTimeStamp.format(validFrom)),
            "credentialSubject": .object(subject),
        ]
        if let id { object["id"] = .string(id) }
        if let validUntil { object["validUntil"] = .string(DateTimeStamp.format(validUntil)) }
        if let status { object["credentialStatus"] = .object(status.jsonObject) }
        return object
    }

    /// Reads a credential from its JSON object: `@context` an array whose first element is the v2
    /// context; `type` a string or strings including `VerifiableCredential`; `issuer` a string or an
    /// object with a string `id`; `validFrom` (required here) and `validUntil` dateTimeStamps, the
    /// second not before the first; `credentialSubject` one object with a string `id`;
    /// `credentialStatus` absent or one entry `StatusEntry(jsonObject:)` reads.
    public init(jsonObject object: [String: JSONValue]) throws(VCError) {
        guard case .array(let contexts)? = object["@context"], contexts.first == .string(VCJWT.contextV2) else {
            throw .malformed("@context must be an array that starts with \(VCJWT.contextV2)")
        }
        let types = try Self.readTypes(object["type"])
        let id: String?
        switch object["id"] {
        case nil: id = nil
        case .string(let value)?: id = value
        default: throw .malformed("id must be a string")
        }
        let issuer = try Self.readIssuer(object["issuer"])
        let validFrom = try Self.readDate(object["validFrom"], "validFrom")
        let validUntil: Date?
        if let value = object["validUntil"] {
            validUntil = try Self.readDate(value, "validUntil")
        } else {
            validUntil = nil
        }
        if let validUntil, validUntil < validFrom { throw .malformed("validUntil is before validFrom") }
        guard case .object(var subject)? = object["credentialSubject"] else {
            throw .malformed("credentialSubject must be one object")
        }
        guard case .string(let subjectID)? = subject.removeValue(forKey: "id"), !subjectID.isEmpty else {
            throw .malformed("credentialSubject needs a string id")
        }
        let status: StatusEntry?
        switch object["credentialStatus"] {
        case nil: status = nil
        case .object(let entry)?: status = try StatusEntry(jsonObject: entry)
        case .array?: throw .unsupportedStatus("more than one credentialStatus entry")
        default: throw .malformed("credentialStatus must be an object")
        }
        self.init(
            id: id, types: types, issuer: issuer, validFrom: validFrom, validUntil: validUntil,
            subjectID: subjectID, claims: subject, status: status)
    }

    private static func readTypes(_ value: JSONValue?) throws(VCError) -> [String] {
        let types: [String]
        switch value {
        case .string(let type)?: types = [type]
        case .array(let elements)?:
            types = elements.compactMap(\.stringValue)
            guard types.count == elements.count else { throw .malformed("type must hold only strings") }
        default: throw .malformed("type must be a string or an array of strings")
        }
        guard types.contains(baseType) else { throw .malformed("type must include \(baseType)") }
        return types
    }

    private static func readIssuer(_ value: JSONValue?) throws(VCError) -> String {
        let issuer: String
        switch value {
        case .string(let text)?: issuer = text
        case .object(let members)?:
            guard case .string(let text)? = members["id"] else {
                throw .malformed("an issuer object needs a string id")
            }
            issuer = text
        default: throw .malformed("issuer must be a string or an object with an id")
        }
        guard !issuer.isEmpty else { throw .malformed("issuer is empty") }
        return issuer
    }

    private static func readDate(_ value: JSONValue?, _ name: String) throws(VCError) -> Date {
        guard case .string(let text)? = value, let date = DateTimeStamp.parse(text) else {
            throw .malformed("\(name) must be a dateTimeStamp such as 2026-01-01T00:00:00Z")
        }
        return date
    }
}

extension StatusEntry {
    /// `{"id": "<listURL>#<index>", "type": "BitstringStatusListEntry", "statusPurpose": …,
    /// "statusListIndex": "<index>", "statusListCredential": "<listURL>"}`.
    public var jsonObject: [String: JSONValue] {
        [
            "id": .string("\(listURL)#\(index)"),
            "type": .string(Self.typeName),
            "statusPurpose": .string(purpose),
            "statusListIndex": .string(String(index)),
            "statusListCredential": .string(listURL),
        ]
    }

    /// Reads an entry: `type` `BitstringStatusListEntry`, `statusPurpose` a string, `statusListIndex`
    /// a decimal string without leading zeros up to `indexMax`, `statusListCredential` a non-empty
    /// string, `statusSize` absent or 1. `id` is not needed.
    public init(jsonObject object: [String: JSONValue]) throws(VCError) {
        guard case .string(let type)? = object["type"] else { throw .malformed("credentialStatus needs a type") }
        guard type == Self.typeName else { throw .unsupportedStatus("status type '\(type.prefix(64))'") }
        guard case .string(let purpose)? = object["statusPurpose"] else {
            throw .malformed("credentialStatus needs a string statusPurpose")
        }
        guard case .string(let listURL)? = object["statusListCredential"], !listURL.isEmpty else {
            throw .malformed("credentialStatus needs a string statusListCredential")
        }
        guard case .string(let indexText)? = object["statusListIndex"], let index = Self.index(indexText) else {
            throw .malformed("statusListIndex must be a decimal string from 0 to \(Self.indexMax)")
        }
        if let size = object["statusSize"], size != .integer(1) {
            throw .unsupportedStatus("statusSize other than 1")
        }
        self.init(listURL: listURL, index: index, purpose: purpose)
    }

    private static func index(_ text: String) -> Int? {
        let digits = Array(text.utf8)
        guard (1...10).contains(digits.count), digits.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        guard digits.count == 1 || digits[0] != 0x30, let value = Int(text), value <= indexMax else { return nil }
        return value
    }
}
