import Foundation

/// What a connection-flood test needs around its connections: descriptors enough, the
/// daemon's socket count, and which connections the daemon closed.
public enum Flood {
    /// Raises this process's soft `RLIMIT_NOFILE` to `wanted` (as far as the hard limit
    /// allows); returns the limit now in force.
    @discardableResult
    public static func raiseOpenFileLimit(to wanted: rlim_t) -> rlim_t {
        var limit = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        if limit.rlim_cur < wanted {
            limit.rlim_cur = min(wanted, limit.rlim_max)
            setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        }
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        return limit.rlim_cur
    }

    /// Sockets open in process `pid`.
    public static func sockets(of pid: Int32) throws -> Int {
        try Descriptors.targets(of: pid).filter { $0.hasPrefix("socket:") }.count
    }

    /// How many of `connections` the peer has closed (end of stream or reset).
    public static func closedByPeer(_ connections: [RawConnection]) -> Int {
        var polls = connections.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
        _ = poll(&polls, nfds_t(polls.count), 0)
        var closed = 0
        var scratch = [UInt8](repeating: 0, count: 4096)
        for (index, entry) in polls.enumerated() where entry.revents != 0 {
            if entry.revents & Int16(POLLHUP | POLLERR) != 0 {
                closed += 1
                continue
            }
            let count = scratch.withUnsafeMutableBytes { recv(connections[index].fd, $0.baseAddress, $0.count, Int32(MSG_PEEK | MSG_DONTWAIT)) }
            if count == 0 || (count < 0 && errno != EAGAIN) { closed += 1 }
        }
        return closed
    }
}
