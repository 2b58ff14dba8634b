/// The uids (and, the same numbers, gids) the spawner gives sessions' agents, one per live
/// session (`SPAWNER_AGENT_UIDS`, e.g. `200000-299999`): no per-uid kernel resource
/// (`RLIMIT_NPROC`, inotify instances, pending signals, a local workspace's ownership) is then
/// shared between sandboxes. runnerd receives the uid as `RUNNERD_AGENT_UID=uid:gid`.
///
/// Pick a range no host user, no system account and no subordinate-id range (`/etc/subuid` of
/// rootless containers) uses: a uid shared with a host user shares that user's limits.
public struct AgentUIDRange: Sendable, Equatable, CustomStringConvertible {
    public let lower: UInt32
    public let upper: UInt32

    /// The built-in range.
    public static let standard = AgentUIDRange(lower: 200_000, upper: 299_999)!
    /// What no range may include: root, the image's shared agent uid, `nobody`, and the
    /// kernel's "no uid" (`(uid_t)-1`).
    static let reserved: Set<UInt32> = [0, 10001, 65534, UInt32.max]

    public init?(lower: UInt32, upper: UInt32) {
        guard lower >= 1000, lower <= upper, upper < UInt32.max else { return nil }
        self.lower = lower
        self.upper = upper
    }

    /// `LOW-HIGH`; nil when malformed or out of bounds.
    public init?(parsing text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let lower = UInt32(parts[0]), let upper = UInt32(parts[1]) else { return nil }
        self.init(lower: lower, upper: upper)
    }

    public var count: Int { Int(upper - lower) + 1 }
    public var description: String { "\(lower)-\(upper)" }

    public func contains(_ uid: UInt32) -> Bool { uid >= lower && uid <= upper }

    /// A uid for `sessionId` that is in none of `inUse`: `preferred` (the uid a kept workspace
    /// was made with) when it is free, else the first free one from a place derived from the
    /// session id (so a session id tends to get the same uid again); nil when all are taken.
    public func allocate(for sessionId: String, inUse: Set<UInt32>, preferred: UInt32? = nil) -> UInt32? {
        if let preferred, contains(preferred), !inUse.contains(preferred), !Self.reserved.contains(preferred) { return preferred }
        let start = Int(Self.fnv1a(sessionId) % UInt64(count))
        for step in 0..<count {
            let uid = lower + UInt32((start + step) % count)
            if !inUse.contains(uid) && !Self.reserved.contains(uid) { return uid }
        }
        return nil
    }

    static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return hash
    }
}

/// `SPAWNER_AGENT_UIDS`: a range, or `off` (every session's agents are the image's uid 10001,
/// or the local backend's runnerd's default).
public enum AgentUIDSetting: Sendable, Equatable {
    case range(AgentUIDRange)
    case off

    /// The setting of an environment value; nil (unset) is the standard range.
    public static func parse(_ raw: String?) throws(InvalidAgentUIDs) -> AgentUIDSetting {
        guard let raw, !raw.isEmpty else { return .range(.standard) }
        if raw.lowercased() == "off" { return .off }
        guard let range = AgentUIDRange(parsing: raw) else { throw InvalidAgentUIDs(raw: raw) }
        return .range(range)
    }

    public var range: AgentUIDRange? {
        if case .range(let range) = self { range } else { nil }
    }
}

public struct InvalidAgentUIDs: Error, CustomStringConvertible, Sendable {
    public let raw: String
    public var description: String {
        "SPAWNER_AGENT_UIDS must be LOW-HIGH (1000 ≤ LOW ≤ HIGH < 4294967295) or off, got \(raw)"
    }
}
