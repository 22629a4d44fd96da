/// Namespace of the `MeshStorage` layer; see this folder's README for its scope and status.
public enum MeshStorage {}
