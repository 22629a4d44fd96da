extension CID {
    /// The CIDv1 (raw codec, sha2-256) of `bytes`: what IPFS gives with raw leaves.
    public static func raw(of bytes: some Collection<UInt8>) -> CID {
        CID(codec: codecRaw, digest: Hash256.sha256(bytes))
    }
}
