import Glibc
import RunnerProtocol
@testable import RunnerdCore
import SystemSupport
import Testing

@Suite(.timeLimit(.minutes(2))) struct NftRulesetTests {
    static let spawner = CIDR("172.19.0.1")!
    static let egress = SandboxNetworkPolicy(
        egress: .public, allow: [CIDR("10.20.0.0/16")!], deny: [CIDR("203.0.113.7")!, CIDR("172.17.0.1")!, CIDR("2001:db8::7")!],
        inboundFrom: [spawner])
    static let closed = SandboxNetworkPolicy(egress: .none, inboundFrom: [spawner])

    static func lines(_ text: String) -> [String] {
        text.split(separator: "\n").map { String($0.drop(while: { $0 == "\t" })) }
    }

    static func elements(_ text: String, set name: String) -> [String] {
        let all = lines(text)
        guard let start = all.firstIndex(of: "set \(name) {") else { return [] }
        guard let line = all[start...].first(where: { $0.hasPrefix("elements = {") || $0 == "}" }), line != "}" else { return [] }
        return line.dropFirst("elements = { ".count).dropLast(2).split(separator: ", ").map(String.init)
    }

    @Test func inboundIsOnlyTheSpawnerToRunnerdsPort() {
        let text = Self.lines(NftRuleset.render(Self.closed, port: 8200))
        let input = Array(text[text.firstIndex(of: "chain input {")!...].prefix { $0 != "}" })
        #expect(input.contains("type filter hook input priority filter; policy drop;"))
        #expect(input.contains("ip saddr @inbound4 tcp dport 8200 accept"))
        // Nothing else is accepted but loopback, replies and the link's neighbour discovery.
        let accepting = input.filter { $0.hasSuffix("accept") }
        #expect(accepting == [
            "iif \"lo\" accept", "ct state established,related accept",
            "icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept",
            "ip saddr @inbound4 tcp dport 8200 accept", "ip6 saddr @inbound6 tcp dport 8200 accept",
        ])
        #expect(Self.elements(NftRuleset.render(Self.closed, port: 8200), set: "inbound4") == ["172.19.0.1/32"])
    }

    @Test func outputRefusesEveryNonPublicAddressAfterTheAllowedOnes() {
        let rendered = NftRuleset.render(Self.egress, port: 8200)
        let text = Self.lines(rendered)
        let output = Array(text[text.firstIndex(of: "chain output {")!...].prefix { $0 != "}" })
        let allowed = output.firstIndex(of: "ip daddr @allowed4 accept")
        let refused = output.firstIndex(of: "ip daddr @refused4 meta l4proto tcp counter reject with tcp reset")
        #expect(allowed != nil && refused != nil && allowed! < refused!, "egressAllow comes before the refusals")
        #expect(output.firstIndex(of: "oif \"lo\" accept") == 2, "loopback first, after the chain's type")
        #expect(output.last == "accept", "public egress: the rest leaves")
        #expect(Self.elements(rendered, set: "allowed4") == ["10.20.0.0/16"])
        // The host's 172.17.0.1 lies inside 172.16/12: listed once, as the range.
        #expect(Self.elements(rendered, set: "refused4") == [
            "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16",
            "224.0.0.0/4", "240.0.0.0/4", "203.0.113.7/32",
        ])
        #expect(Self.elements(rendered, set: "refused6").contains("2001:db8:0:0:0:0:0:7/128"))
        #expect(Self.elements(rendered, set: "refused6").contains("fe80:0:0:0:0:0:0:0/10"))
    }

    @Test func withoutEgressNothingLeaves() {
        let text = Self.lines(NftRuleset.render(Self.closed, port: 8200))
        let output = Array(text[text.firstIndex(of: "chain output {")!...].prefix { $0 != "}" })
        #expect(output.suffix(2) == ["meta l4proto tcp counter reject with tcp reset", "counter drop"])
        #expect(!output.contains("accept"))
        #expect(Self.elements(NftRuleset.render(Self.closed, port: 8200), set: "allowed4").isEmpty)
    }

    /// The rendered text is a ruleset nft accepts, twice in a row (a restarted runnerd replaces
    /// its table), and its listing passes the check runnerd makes after installing it. In a
    /// network namespace of its own (`unshare --net`), so the test's network is untouched.
    @Test(.enabled(if: getuid() == 0 && NetworkConfinement.nftCandidates.contains(where: Syscall.isExecutable), "needs root and nft"))
    func theRulesetLoadsAndReadsBack() throws {
        for policy in [Self.egress, Self.closed] {
            let ruleset = NftRuleset.render(policy, port: 8200)
            let script = "nft -f - && nft -f /proc/self/fd/3 && nft list table inet runnerd"
            let input = try MemoryFile.create("ruleset", contents: Array(ruleset.utf8))
            defer { Syscall.close(input) }
            // The same ruleset on stdin and on fd 3 (a memory file read through /proc).
            let outcome = try HelperCommand.run(
                ["/usr/bin/unshare", "--net", "/bin/sh", "-c", "exec 3</proc/\(getpid())/fd/\(input); " + script], input: Array(ruleset.utf8))
            #expect(outcome.status.exitCode == 0, "\(outcome.text)")
            #expect(NftRuleset.missing(in: outcome.text, port: 8200) == nil, "\(outcome.text)")
            #expect(NftRuleset.missing(in: outcome.text, port: 8201) != nil, "the check can fail")
        }
    }
}
