/// Namespace of the `MeshCompute` layer; see this folder's README for its scope and status.
public enum MeshCompute {}
