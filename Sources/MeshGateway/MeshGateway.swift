/// Namespace of the `MeshGateway` layer; see this folder's README for its scope and status.
public enum MeshGateway {}
