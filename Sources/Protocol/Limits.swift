/// The numeric limits of the wire contract, named once for runnerd, the spawner and clients.
public enum Limits {
    /// Largest accepted request body (`413` above it).
    public static let maxRequestBodyBytes = 4 << 20
    /// Encoded bytes of events an exec keeps for replay.
    public static let replayRingBytes = 256 << 10
    /// A consumer whose unsent buffer passes this is dropped (it re-attaches).
    public static let consumerMaxUnsentBytes = 8 << 20
    /// Entries in the session env store.
    public static let envMaxEntries = 128
    /// Bytes of one env store value.
    public static let envMaxValueBytes = 32 << 10
    /// Decoded bytes of one `/stdin` write.
    public static let stdinMaxWriteBytes = 64 << 10
    /// Decoded bytes of one inline staged file.
    public static let inlineFileMaxBytes = 1 << 20
    /// Bytes of one staged file fetched from a URL.
    public static let urlFetchMaxBytes = 100 << 20
    /// Bytes `/fs/read` returns at most.
    public static let fileReadMaxBytes = 20 << 20
    /// Finished execs kept for status and attach, at least.
    public static let finishedExecsRetained = 16
    /// Concurrent running execs unless configured otherwise.
    public static let defaultMaxLiveExecs = 16
    /// Time between SIGTERM and SIGKILL on cancel and timeout.
    public static let defaultKillGraceMs: Int64 = 5_000
    /// The longest event line runnerd writes: an output event carries one read of at most
    /// 64 KiB, 87,384 bytes of base64, plus its seq and keys; every other event is shorter.
    public static let largestEventLineBytes = 96 << 10
    /// Where a reader of an event stream (NDJSON or SSE) cuts a line: 1 MiB over the largest
    /// legal event. A peer that sends a longer line is broken or hostile; the stream ends there
    /// instead of growing a buffer without bound.
    public static let eventLineCapBytes = largestEventLineBytes + (1 << 20)
}
