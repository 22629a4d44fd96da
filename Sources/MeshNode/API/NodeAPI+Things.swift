import Hummingbird
import MeshAPI
import MeshCore
import MeshGateway

extension NodeAPI {
    /// Device shadows: `GET /things/{did}/shadow` (`?name=` for one named shadow), for a caller
    /// whose `Authorization: Bearer <device token>` names a DID allowed `shadow.read` on it (the
    /// device, its controller, a grantee), as on MQTT.
    static func addThingRoutes(_ router: Router<BasicRequestContext>, runtime: NodeRuntime) {
        router.get("things/:did/shadow") { request, context in
            let thing = try didParameter(context.parameters.get("did"))
            let name = request.uri.queryParameters.get("name")
            if let name, !name.isEmpty, !Gateway.isShadowName(name) {
                throw Failure("api/10", "a shadow name is 1…64 bytes of letters, digits, ':', '_' and '-'")
            }
            guard let gateway = runtime.gateway else {
                throw Failure("api/15", "the MQTT gateway has not started", .serviceUnavailable)
            }
            // The scheme is case-insensitive (RFC 9110, section 11.1).
            guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else {
                throw Failure(
                    "api/24",
                    "a shadow is read with 'Authorization: Bearer <device token>' of a DID allowed shadow.read",
                    .unauthorized)
            }
            let resource = "shadow/\(thing)" + (name.map { $0.isEmpty ? "" : "/" + $0 } ?? "/#")
            let outcome = await EventSocket.authorizeToken(
                String(header.dropFirst("Bearer ".count)), action: .shadowRead, resource: resource, runtime: runtime,
                code: "api/24", context: "the shadow cannot be read")
            if case .failure(let error) = outcome { throw Failure(error.code, error.message, .forbidden) }
            let shadows = gateway.shadowDocuments(of: thing.description).filter { name == nil || $0.name == name }
            guard !shadows.isEmpty else {
                throw Failure("api/25", "\(thing) has no shadow" + (name.map { " named '\($0)'" } ?? ""), .notFound)
            }
            return json(
                ShadowsView(
                    thing: thing.description,
                    shadows: shadows.map { ShadowView(name: $0.name.isEmpty ? nil : $0.name, document: $0.document) }))
        }
    }
}
