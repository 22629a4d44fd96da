/// Namespace of the `MeshP2P` layer; see this folder's README for its scope and status.
public enum MeshP2P {}
