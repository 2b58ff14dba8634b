/// The rule runnerd and the spawner both apply to a new connection: while fewer than `limit`
/// are open it is taken; at the limit the open connection that has been idle the longest (no
/// request in progress: a client that sent nothing, or half a head) is closed to make room;
/// only when every open connection is busy is the newcomer refused. A flood of idle
/// connections thus holds no slot a real client needs, and a request in progress (an exec
/// stream) is never cut for a newcomer.
///
/// Pure: each server keeps its own table of connections and hands their state in.
public struct ConnectionAdmission: Equatable, Sendable {
    /// Open connections at most (at least 1).
    public let limit: Int

    public init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// An open connection as the rule sees it.
    public struct Candidate<ID, Stamp: Comparable> {
        public var id: ID
        /// A request is in progress (or the connection is a WebSocket).
        public var isBusy: Bool
        /// When it last became idle (or last saw activity): the smallest is the longest idle.
        public var idleSince: Stamp

        public init(id: ID, isBusy: Bool, idleSince: Stamp) {
            self.id = id
            self.isBusy = isBusy
            self.idleSince = idleSince
        }
    }

    /// What to do with a new connection.
    public enum Decision<ID> {
        /// Take it.
        case admit
        /// Close `ID` (the longest-idle connection), then take it.
        case admitClosing(ID)
        /// Close the new one: every open connection is busy.
        case refuse
    }

    /// The decision for a newcomer given the connections open now.
    public func decide<ID, Stamp: Comparable>(open: some Collection<Candidate<ID, Stamp>>) -> Decision<ID> {
        guard open.count >= limit else { return .admit }
        var quietest: Candidate<ID, Stamp>?
        for candidate in open where !candidate.isBusy {
            if quietest.map({ candidate.idleSince < $0.idleSince }) ?? true { quietest = candidate }
        }
        return quietest.map { .admitClosing($0.id) } ?? .refuse
    }
}

extension ConnectionAdmission.Decision: Equatable where ID: Equatable {}
