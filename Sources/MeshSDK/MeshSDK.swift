/// Namespace of the `MeshSDK` layer; see this folder's README for its scope and status.
public enum MeshSDK {}
