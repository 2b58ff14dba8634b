import RunnerProtocol

/// The nftables ruleset that confines a sandbox's network namespace (`table inet runnerd`),
/// rendered from the backend's policy: a pure function, so what is installed is what the unit
/// tests read.
///
/// - input: loopback; replies to connections the sandbox made or accepted; new TCP connections
///   to runnerd's port from the inbound-from addresses (the spawner); nothing else (a TCP
///   connection is answered with a reset, so the peer learns at once; anything else dropped).
/// - output: loopback; replies; the profile's allowed CIDRs; then every non-public address
///   (`SandboxNetworkPolicy.nonPublic`) and the denied ones (the host's own addresses) are
///   refused — TCP with a reset made on the spot (connect fails at once with ECONNREFUSED),
///   anything else dropped before it leaves (sendto fails with EPERM); then, with public
///   egress, the rest leaves, and without it nothing does.
/// - IPv6 neighbour discovery passes both ways (it is how the link itself works).
///
/// The named sets (`inbound4/6`, `allowed4/6`, `refused4/6`) and the counters on the refusing
/// rules are for inspection (`nft list set inet runnerd refused4`); only root with
/// CAP_NET_ADMIN in this namespace can list or change them, and runnerd gives that up.
public enum NftRuleset {
    public static let table = "runnerd"

    /// The ruleset for `nft -f -`: it deletes an earlier `inet runnerd` table first (a runnerd
    /// restarted in the same namespace), atomically with the new one.
    public static func render(_ policy: SandboxNetworkPolicy, port: Int) -> String {
        let refused = SandboxNetworkPolicy.nonPublic + policy.deny
        var lines = [
            "table inet \(table)",
            "delete table inet \(table)",
            "table inet \(table) {",
        ]
        lines += set("inbound4", policy.inboundFrom, .ipv4)
        lines += set("inbound6", policy.inboundFrom, .ipv6)
        lines += set("allowed4", policy.allow, .ipv4)
        lines += set("allowed6", policy.allow, .ipv6)
        lines += set("refused4", refused, .ipv4)
        lines += set("refused6", refused, .ipv6)
        lines += [
            "\tchain input {",
            "\t\ttype filter hook input priority filter; policy drop;",
            "\t\tiif \"lo\" accept",
            "\t\tct state established,related accept",
            "\t\ticmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept",
            "\t\tip saddr @inbound4 tcp dport \(port) accept",
            "\t\tip6 saddr @inbound6 tcp dport \(port) accept",
            "\t\tmeta l4proto tcp counter reject with tcp reset",
            "\t\tcounter drop",
            "\t}",
            "\tchain output {",
            "\t\ttype filter hook output priority filter; policy drop;",
            "\t\toif \"lo\" accept",
            "\t\tct state established,related accept",
            "\t\ticmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit } accept",
            "\t\tip daddr @allowed4 accept",
            "\t\tip6 daddr @allowed6 accept",
            "\t\tip daddr @refused4 meta l4proto tcp counter reject with tcp reset",
            "\t\tip daddr @refused4 counter drop",
            "\t\tip6 daddr @refused6 meta l4proto tcp counter reject with tcp reset",
            "\t\tip6 daddr @refused6 counter drop",
        ]
        switch policy.egress {
        case .public:
            lines.append("\t\taccept")
        case .none:
            lines += [
                "\t\tmeta l4proto tcp counter reject with tcp reset",
                "\t\tcounter drop",
            ]
        }
        lines += ["\t}", "}"]
        return lines.joined(separator: "\n") + "\n"
    }

    /// What `nft list table inet runnerd` must show once the ruleset is in: both hooks with a
    /// dropping policy, the port rule and the refusing rules. Returns the first line missing.
    public static func missing(in listing: String, port: Int) -> String? {
        let expected = [
            "table inet \(table) {",
            "type filter hook input priority filter; policy drop;",
            "type filter hook output priority filter; policy drop;",
            "tcp dport \(port) accept",
            // (`tcp` lists as `6` where /etc/protocols is missing, as in a minimal image.)
            "ip daddr @refused4 meta l4proto",
            "ip6 daddr @refused6 meta l4proto",
            "reject with tcp reset",
        ]
        return expected.first { !listing.contains($0) }
    }

    /// A named interval set of the CIDRs of one family (overlaps merged), elements omitted when
    /// there are none (nft refuses an empty element list).
    static func set(_ name: String, _ cidrs: [CIDR], _ family: CIDR.Family) -> [String] {
        let type = family == .ipv4 ? "ipv4_addr" : "ipv6_addr"
        let members = unique(cidrs.filter { $0.family == family })
        var lines = ["\tset \(name) {", "\t\ttype \(type)", "\t\tflags interval", "\t\tauto-merge"]
        if !members.isEmpty {
            lines.append("\t\telements = { \(members.map(\.description).joined(separator: ", ")) }")
        }
        return lines + ["\t}"]
    }

    /// The CIDRs without duplicates and without those inside another of the list (nft merges
    /// overlaps itself with auto-merge; fewer elements keep the listing short).
    static func unique(_ cidrs: [CIDR]) -> [CIDR] {
        var result: [CIDR] = []
        for cidr in cidrs where !result.contains(where: { $0.contains(cidr) }) {
            result.removeAll { cidr.contains($0) }
            result.append(cidr)
        }
        return result
    }
}
