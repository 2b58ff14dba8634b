import RunnerProtocol

/// Session caps: total, per org, per owner (nil: no cap).
public struct SessionCaps: Equatable, Sendable {
    public var total: Int?
    public var perOrg: Int?
    public var perOwner: Int?

    public init(total: Int? = nil, perOrg: Int? = nil, perOwner: Int? = nil) {
        self.total = total
        self.perOrg = perOrg
        self.perOwner = perOwner
    }

    /// Which cap a new session of `owner` in `orgId` would pass, given the sessions that
    /// count (every one not yet gone, creations in flight included); nil when it fits.
    func exceeded(by owner: SessionOwner, orgId: String, among sessions: some Sequence<SessionLabels>) -> SpawnerError? {
        var total = 0
        var inOrg = 0
        var ofOwner = 0
        for labels in sessions {
            total += 1
            if labels.orgId == orgId { inOrg += 1 }
            if labels.owner == owner { ofOwner += 1 }
        }
        if let cap = self.total, total >= cap { return SpawnerError(.totalCapReached, "at most \(cap) sessions") }
        if let cap = perOrg, inOrg >= cap { return SpawnerError(.orgCapReached, "at most \(cap) sessions in org \(orgId)") }
        if let cap = perOwner, ofOwner >= cap { return SpawnerError(.ownerCapReached, "at most \(cap) sessions for \(owner)") }
        return nil
    }
}
