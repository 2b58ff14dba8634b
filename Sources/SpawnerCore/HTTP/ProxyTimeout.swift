import NIOCore

/// How long a proxied call may take, by what it does: a cancel or a status is quick; staging a
/// URL may take minutes. Past it the spawner answers `504 gateway_timeout` (and closes its
/// connection to runnerd; the operation itself may still complete there).
struct ProxyTimeout: Sendable {
    let amount: TimeAmount

    /// Cancel, status, resize, signals: runnerd answers from memory.
    static let quick = ProxyTimeout(amount: .seconds(10))
    /// stdin, env, the process table, a directory listing.
    static let standard = ProxyTimeout(amount: .seconds(30))
    /// Reading a file (up to 20 MiB) or deleting trees.
    static let transfer = ProxyTimeout(amount: .minutes(2))
    /// Staging files, URL fetches included (runnerd's curl gives up after 300 s).
    static let staging = ProxyTimeout(amount: .minutes(6))
    /// Event streams: until runnerd's answer head; the stream itself then runs as long as it lasts.
    static let streamHead = ProxyTimeout(amount: .seconds(30))
}
