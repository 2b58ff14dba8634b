import RunnerProtocol
import Testing

@Suite(.timeLimit(.minutes(1))) struct CIDRTests {
    @Test(arguments: [
        ("10.0.0.0/8", "10.0.0.0/8"), ("10.1.2.3/8", "10.0.0.0/8"), ("192.168.1.7", "192.168.1.7/32"),
        ("0.0.0.0/0", "0.0.0.0/0"), ("172.31.255.255/12", "172.16.0.0/12"),
        ("fc00::/7", "fc00:0:0:0:0:0:0:0/7"), ("::1", "0:0:0:0:0:0:0:1/128"), ("::", "0:0:0:0:0:0:0:0/128"),
        ("fe80::1:2/10", "fe80:0:0:0:0:0:0:0/10"), ("2001:db8::ff00:42:8329", "2001:db8:0:0:0:ff00:42:8329/128"),
        ("::ffff:10.0.0.1/128", "0:0:0:0:0:ffff:a00:1/128"), ("1:2:3:4:5:6:7:8/64", "1:2:3:4:0:0:0:0/64"),
    ])
    func parsesAndMasks(_ text: String, _ canonical: String) throws {
        let cidr = try #require(CIDR(text), "\(text) parses")
        #expect(cidr.description == canonical)
        #expect(CIDR(cidr.description) == cidr, "the canonical form reads back")
    }

    @Test(arguments: [
        "", "/8", "10.0.0.0/", "10.0.0.0/33", "10.0.0/8", "10.0.0.256", "010.0.0.1", "1.2.3.4.5", "10.0.0.0/8/8",
        "10.0.0.0/-1", "10.0.0.0/ 8", "::/129", ":::", "1::2::3", "1:2:3:4:5:6:7:8:9", "12345::", "g::1", "fe80::1%eth0",
        "example.com", "1:2:3:4:5:6:7::8:9",
    ])
    func refusesWhatIsNotACIDR(_ text: String) {
        #expect(CIDR(text) == nil, "\(text) is refused")
    }

    @Test func containment() throws {
        let private10 = try #require(CIDR("10.0.0.0/8"))
        #expect(private10.contains(try #require(CIDR("10.200.1.1"))))
        #expect(private10.contains(private10))
        #expect(!private10.contains(try #require(CIDR("11.0.0.1"))))
        #expect(!private10.contains(try #require(CIDR("0.0.0.0/0"))), "a wider network is not inside")
        #expect(!private10.contains(try #require(CIDR("::a00:1"))), "another family is not inside")
    }

    @Test func lists() throws {
        let parsed = try CIDR.parseList(" 10.0.0.0/8, 203.0.113.9 ,,fd00::/8").get()
        #expect(parsed.map(\.description) == ["10.0.0.0/8", "203.0.113.9/32", "fd00:0:0:0:0:0:0:0/8"])
        #expect(try CIDR.parseList("").get().isEmpty)
        #expect(throws: CIDR.ListError(entry: "nope")) { try CIDR.parseList("10.0.0.0/8,nope").get() }
    }
}

@Suite(.timeLimit(.minutes(1))) struct SandboxNetworkPolicyTests {
    static func environment(_ entries: [String]) -> [String: String] {
        Dictionary(uniqueKeysWithValues: entries.map { entry in
            let equals = entry.firstIndex(of: "=")!
            return (String(entry[..<equals]), String(entry[entry.index(after: equals)...]))
        })
    }

    @Test func theEnvironmentReadsBackAsThePolicy() throws {
        let policy = SandboxNetworkPolicy(
            egress: .public, allow: [CIDR("10.9.0.0/16")!], deny: [CIDR("203.0.113.5")!, CIDR("2001:db8::5")!],
            inboundFrom: [CIDR("172.18.0.1")!])
        #expect(try SandboxNetworkPolicy.parse(environment: Self.environment(policy.environment)).get() == policy)
        let closed = SandboxNetworkPolicy(egress: .none, inboundFrom: [CIDR("172.18.0.1")!])
        #expect(try SandboxNetworkPolicy.parse(environment: Self.environment(closed.environment)).get() == closed)
    }

    @Test func withoutThePolicyVariableNothingIsAsked() throws {
        #expect(try SandboxNetworkPolicy.parse(environment: ["PATH": "/bin"]).get() == nil)
    }

    @Test(arguments: [
        (["RUNNERD_NET_EGRESS": "public"], "set without RUNNERD_NET_POLICY"),
        (["RUNNERD_NET_POLICY": "open", "RUNNERD_NET_INBOUND_FROM": "10.0.0.1"], "must be confined"),
        (["RUNNERD_NET_POLICY": "confined"], "RUNNERD_NET_INBOUND_FROM must name"),
        (["RUNNERD_NET_POLICY": "confined", "RUNNERD_NET_INBOUND_FROM": "10.0.0.1", "RUNNERD_NET_EGRESS": "all"], "public or none"),
        (["RUNNERD_NET_POLICY": "confined", "RUNNERD_NET_INBOUND_FROM": "10.0.0.1", "RUNNERD_NET_ALLOW": "10.0.0.0/8,x"], "x is not"),
    ])
    func aPolicyThatCannotBeReadIsRefused(_ environment: [String: String], _ message: String) {
        switch SandboxNetworkPolicy.parse(environment: environment) {
        case .success(let policy): Issue.record("accepted: \(String(describing: policy))")
        case .failure(let invalid): #expect(invalid.description.contains(message), "\(invalid.description)")
        }
    }

    @Test func everyRangeTheIssueNamesIsNonPublic() throws {
        for range in ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16", "fc00::/7", "fe80::/10"] {
            let cidr = try #require(CIDR(range))
            #expect(SandboxNetworkPolicy.nonPublic.contains { $0.contains(cidr) }, "\(range)")
        }
        for metadata in ["169.254.169.254", "fd00:ec2::254"] {
            let cidr = try #require(CIDR(metadata))
            #expect(SandboxNetworkPolicy.nonPublic.contains { $0.contains(cidr) }, "\(metadata)")
        }
        for publicAddress in ["8.8.8.8", "1.1.1.1", "2606:4700::1111"] {
            let cidr = try #require(CIDR(publicAddress))
            #expect(!SandboxNetworkPolicy.nonPublic.contains { $0.contains(cidr) }, "\(publicAddress)")
        }
    }
}
