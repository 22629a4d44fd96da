/// Namespace of the `MeshConsensus` layer; see this folder's README for its scope and status.
public enum MeshConsensus {}
