import Foundation
public import MeshAPI

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

extension MeshClient {
    /// `GET /things/{did}/shadow` (`?name=` for one named shadow): a device's shadows, read with
    /// `token`, a device token of a DID allowed `shadow.read` on them (the device, its controller,
    /// a grantee). `api/24` when the token is refused, `api/25` when there is no shadow.
    public func shadows(of did: String, name: String? = nil, token: String) async throws(SDKError) -> ShadowsView {
        var request = URLRequest(url: try url("/things/\(Self.escape(did))/shadow", ["name": name]))
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        let path = "/things/\(did)/shadow"
        let (data, status) = try await fetch(request)
        guard status == 200 else { throw Self.failure(data, status: status, path: path) }
        do { return try JSONDecoder().decode(ShadowsView.self, from: data) } catch {
            throw .badResponse("\(path): \(error)")
        }
    }
}
