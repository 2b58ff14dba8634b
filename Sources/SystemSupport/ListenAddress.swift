/// `host:port` (IPv6 hosts in brackets); port 0 lets the kernel choose; an empty host is 0.0.0.0.
public struct ListenAddress: Equatable, Sendable {
    public var host: String
    public var port: Int

    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            return nil
        }
        var host = Substring(text[..<colon])
        if host.first == "[", host.last == "]" { host = host.dropFirst().dropLast() }
        self.host = host.isEmpty ? "0.0.0.0" : String(host)
        self.port = port
    }
}
