/// How every SQLite store of a node keeps its write-ahead log small: a checkpoint every 64
/// pages and the file cut back to 256 KiB after it, so an idle node's files grow by what it
/// stores, not by SQLite's scratch space (one statement string, run by each store when it
/// opens a connection).
public enum SQLiteWAL {
    /// Pages written to the WAL before a checkpoint.
    public static let autocheckpointPages = 64
    /// Bytes the WAL file is cut back to after a checkpoint.
    public static let sizeLimitBytes = 256 << 10

    /// The PRAGMAs that set both.
    public static let smallLogPragmas =
        "PRAGMA wal_autocheckpoint = \(autocheckpointPages); PRAGMA journal_size_limit = \(sizeLimitBytes)"
}
