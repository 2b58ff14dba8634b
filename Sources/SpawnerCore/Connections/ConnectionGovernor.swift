import NIOCore
import Synchronization
import SystemSupport

/// At most `limit` open client connections. A connection past the limit makes room by closing
/// the connection that has been idle longest — one with no request in progress: a client that
/// connected and sent nothing, or half a head — and is itself closed when every connection is
/// busy (`ConnectionAdmission`, runnerd's rule too). A flood of idle connections thus holds no slot for long, a new client is served at
/// once instead of queueing behind the flood in the kernel's backlog, and requests in progress
/// (exec streams included) are never cut for a newcomer. (The idle timeout closes idle
/// connections too, flood or not: `ConnectionLimits.idleTimeoutMs`.)
final class ConnectionGovernor: Sendable {
    let admission: ConnectionAdmission
    var limit: Int { admission.limit }
    private let metrics: SpawnerMetrics?

    private struct Slot {
        let channel: any Channel
        /// Requests whose head arrived and whose answer has not ended.
        var busy = 0
        /// When the connection last became idle, in admissions and request ends counted.
        var idleSince: UInt64
    }

    private struct State {
        var slots: [ObjectIdentifier: Slot] = [:]
        var clock: UInt64 = 0
    }

    private let state = Mutex(State())

    init(limit: Int, metrics: SpawnerMetrics? = nil) {
        self.admission = ConnectionAdmission(limit: limit)
        self.metrics = metrics
    }

    /// Takes a new connection in, closing what has to go: the longest-idle connection when the
    /// limit is reached, or the new one when none is idle. Returns whether it was taken.
    func admit(_ channel: any Channel) -> Bool {
        let (admitted, evicted, open) = state.withLock { state -> (Bool, (any Channel)?, Int) in
            var evicted: (any Channel)?
            let candidates = state.slots.map { ConnectionAdmission.Candidate(id: $0.key, isBusy: $0.value.busy > 0, idleSince: $0.value.idleSince) }
            switch admission.decide(open: candidates) {
            case .admit:
                break
            case .admitClosing(let victim):
                evicted = state.slots.removeValue(forKey: victim)?.channel
            case .refuse:
                return (false, nil, state.slots.count)
            }
            state.clock += 1
            state.slots[ObjectIdentifier(channel)] = Slot(channel: channel, idleSince: state.clock)
            return (true, evicted, state.slots.count)
        }
        if let evicted {
            evicted.close(promise: nil)
            metrics?.connectionShed(.evicted)
        }
        if !admitted {
            channel.close(promise: nil)
            metrics?.connectionShed(.refused)
        }
        metrics?.setOpenConnections(open)
        return admitted
    }

    /// The connection became a WebSocket (a terminal): busy for as long as it lives.
    func upgraded(_ channel: any Channel) {
        requestStarted(channel)
    }

    func requestStarted(_ channel: any Channel) {
        state.withLock { $0.slots[ObjectIdentifier(channel)]?.busy += 1 }
    }

    func requestEnded(_ channel: any Channel) {
        state.withLock { state in
            let id = ObjectIdentifier(channel)
            guard var slot = state.slots[id] else { return }
            slot.busy = max(0, slot.busy - 1)
            if slot.busy == 0 {
                state.clock += 1
                slot.idleSince = state.clock
            }
            state.slots[id] = slot
        }
    }

    func closed(_ channel: any Channel) {
        let open = state.withLock { state in
            state.slots[ObjectIdentifier(channel)] = nil
            return state.slots.count
        }
        metrics?.setOpenConnections(open)
    }

    var openCount: Int { state.withLock { $0.slots.count } }
}
