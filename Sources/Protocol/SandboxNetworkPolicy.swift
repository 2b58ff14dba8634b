/// The network confinement a container backend asks of the runnerd in a sandbox, through its
/// environment (docs/docker.md, "Network confinement"). runnerd installs it in the sandbox's own
/// network namespace at boot, before it serves, then gives up the capability to change it.
///
/// | variable | meaning |
/// |---|---|
/// | `RUNNERD_NET_POLICY` | `confined`; unset: runnerd touches no network setting (as before) |
/// | `RUNNERD_NET_EGRESS` | `public`: new connections to public addresses leave; `none` (default): none do |
/// | `RUNNERD_NET_ALLOW` | CIDRs reached even where the policy refuses (a profile's `egressAllow`) |
/// | `RUNNERD_NET_DENY` | more CIDRs refused (the host's own addresses) |
/// | `RUNNERD_NET_INBOUND_FROM` | the only sources that may open a connection to runnerd's port (the spawner as the sandbox sees it) |
public struct SandboxNetworkPolicy: Equatable, Sendable {
    public enum Egress: String, Sendable {
        case none, `public`
    }

    public var egress: Egress
    public var allow: [CIDR]
    public var deny: [CIDR]
    public var inboundFrom: [CIDR]

    public init(egress: Egress, allow: [CIDR] = [], deny: [CIDR] = [], inboundFrom: [CIDR]) {
        self.egress = egress
        self.allow = allow
        self.deny = deny
        self.inboundFrom = inboundFrom
    }

    public static let policyVariable = "RUNNERD_NET_POLICY"
    public static let egressVariable = "RUNNERD_NET_EGRESS"
    public static let allowVariable = "RUNNERD_NET_ALLOW"
    public static let denyVariable = "RUNNERD_NET_DENY"
    public static let inboundFromVariable = "RUNNERD_NET_INBOUND_FROM"
    public static let confined = "confined"

    /// The addresses no confined sandbox opens a connection to unless `allow` names them:
    /// private (RFC 1918, RFC 4193), shared (RFC 6598), link-local (cloud metadata services
    /// live at 169.254.169.254), loopback off the loopback interface, "this network", multicast
    /// and reserved space. Public egress is everything else.
    public static let nonPublic: [CIDR] = [
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
        "192.168.0.0/16", "224.0.0.0/4", "240.0.0.0/4",
        "::/128", "::1/128", "::ffff:0:0/96", "fc00::/7", "fe80::/10", "ff00::/8",
    ].map { CIDR($0)! }

    /// The environment entries (`NAME=value`) that ask runnerd for this policy.
    public var environment: [String] {
        func list(_ cidrs: [CIDR]) -> String { cidrs.map(\.description).joined(separator: ",") }
        return [
            "\(Self.policyVariable)=\(Self.confined)",
            "\(Self.egressVariable)=\(egress.rawValue)",
            "\(Self.allowVariable)=\(list(allow))",
            "\(Self.denyVariable)=\(list(deny))",
            "\(Self.inboundFromVariable)=\(list(inboundFrom))",
        ]
    }

    /// Reads the policy from runnerd's environment: nil when none is asked for; an error names
    /// what is wrong (runnerd then refuses to start: a policy it cannot read is not applied).
    public static func parse(environment: [String: String]) -> Result<SandboxNetworkPolicy?, Invalid> {
        guard let mode = environment[policyVariable], !mode.isEmpty else {
            let stray = [egressVariable, allowVariable, denyVariable, inboundFromVariable].filter { environment[$0] != nil }
            if !stray.isEmpty { return .failure(Invalid("\(stray.joined(separator: ", ")) set without \(policyVariable)=\(confined)")) }
            return .success(nil)
        }
        guard mode == confined else { return .failure(Invalid("\(policyVariable) must be \(confined), got \(mode)")) }
        let egress: Egress
        switch environment[egressVariable] ?? "" {
        case "", "none": egress = .none
        case "public": egress = .public
        case let other: return .failure(Invalid("\(egressVariable) must be public or none, got \(other)"))
        }
        var lists: [String: [CIDR]] = [:]
        for name in [allowVariable, denyVariable, inboundFromVariable] {
            switch CIDR.parseList(environment[name] ?? "") {
            case .success(let cidrs): lists[name] = cidrs
            case .failure(let error): return .failure(Invalid("\(name): \(error.entry) is not an address or CIDR"))
            }
        }
        let inbound = lists[inboundFromVariable] ?? []
        guard !inbound.isEmpty else {
            return .failure(Invalid("\(inboundFromVariable) must name the spawner's address: without it nothing could reach runnerd"))
        }
        return .success(SandboxNetworkPolicy(egress: egress, allow: lists[allowVariable] ?? [], deny: lists[denyVariable] ?? [], inboundFrom: inbound))
    }

    public struct Invalid: Error, Equatable, Sendable, CustomStringConvertible {
        public let description: String
        public init(_ description: String) { self.description = description }
    }
}
