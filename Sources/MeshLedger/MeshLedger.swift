/// Namespace of the `MeshLedger` layer; see this folder's README for its scope and status.
public enum MeshLedger {}
