import NIOCore
import Synchronization

/// Bytes of request bodies that are being read before anything proves who sent them, across
/// every connection and per client address. A request without `X-Spawner-Content-SHA256`
/// can only be verified once its body is in; the budget bounds what such requests (forged
/// ones included) make the spawner hold at once, whatever the connection count, and the
/// share of one address keeps one client (a flood from one host) from taking all of it.
/// Requests that carry the header are verified on the head and never take from it.
final class BodyBudget: Sendable {
    let limit: Int
    let perClientLimit: Int
    private let state = Mutex<(used: Int, byClient: [ClientKey: Int])>((0, [:]))

    init(limit: Int, perClientLimit: Int) {
        self.limit = limit
        self.perClientLimit = perClientLimit
    }

    /// Takes `bytes` of the budget for `client`; false (nothing taken) when they do not fit
    /// in what is left overall or in the client's share.
    func reserve(_ bytes: Int, for client: ClientKey) -> Bool {
        guard bytes > 0 else { return true }
        return state.withLock { state in
            let held = state.byClient[client] ?? 0
            guard bytes <= limit - state.used, bytes <= perClientLimit - held else { return false }
            state.used += bytes
            state.byClient[client] = held + bytes
            return true
        }
    }

    func release(_ bytes: Int, for client: ClientKey) {
        guard bytes > 0 else { return }
        state.withLock { state in
            state.used -= bytes
            let held = (state.byClient[client] ?? 0) - bytes
            state.byClient[client] = held > 0 ? held : nil
        }
    }

    var inUse: Int { state.withLock { $0.used } }
}

/// Whose share of the body budget a connection takes: its peer's IPv4 address, or the /64 of
/// an IPv6 one (a host commonly has a whole /64; IPv4-mapped addresses count as IPv4).
struct ClientKey: Hashable, Sendable {
    private let bytes: [UInt8]

    init(_ address: SocketAddress?) {
        switch address {
        case .v4(let v4):
            bytes = withUnsafeBytes(of: v4.address.sin_addr) { Array($0) }
        case .v6(let v6):
            let all = withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
            let mapped = all.prefix(10).allSatisfy { $0 == 0 } && all[10] == 0xFF && all[11] == 0xFF
            bytes = mapped ? Array(all.suffix(4)) : Array(all.prefix(8)) + [6]
        default:
            bytes = []
        }
    }
}
