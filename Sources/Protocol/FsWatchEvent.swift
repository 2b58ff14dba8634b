/// One line of `GET /fs/watch` (NDJSON; the spawner's SSE `data:`).
///
/// `watching` comes first, once the watch is armed; then `fs` events, and `overflow` when
/// events were lost (the kernel's queue overflowed, or a directory could not be watched).
public struct FsWatchEvent: Codable, Equatable, Sendable {
    public enum Kind: String, Codable, Sendable {
        case watching, fs, overflow
    }

    public enum Op: String, Codable, Sendable {
        case create, write, remove, rename
    }

    public enum EntryType: String, Codable, Sendable {
        case file, dir
    }

    public var seq: UInt64
    public var t: Kind
    /// Relative to the workspace (`""` is the workspace itself).
    public var path: String?
    public var op: Op?
    public var type: EntryType?
    /// For `rename`: where the entry was.
    public var from: String?
    /// Addition, for `overflow`: `queue` (the kernel dropped events) or `watch_limit` (a
    /// directory past the watch bound is not watched).
    public var reason: String?

    public init(seq: UInt64, t: Kind, path: String? = nil, op: Op? = nil, type: EntryType? = nil, from: String? = nil, reason: String? = nil) {
        self.seq = seq
        self.t = t
        self.path = path
        self.op = op
        self.type = type
        self.from = from
        self.reason = reason
    }
}
