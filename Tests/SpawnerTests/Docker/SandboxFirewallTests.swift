import Foundation
import RunnerProtocol
@testable import SpawnerCore
@testable import SpawnerDocker
import Testing

/// What the docker backend asks each sandbox's runnerd to install (no engine needed): the
/// policy per profile and network, the environment and the boot capability it adds, and the
/// profiles' `egressAllow`.
@Suite(.timeLimit(.minutes(1))) struct SandboxFirewallTests {
    static let secret = Array("0123456789abcdef0123456789abcdef-secret".utf8)
    static let firewall = SandboxFirewall(
        inboundFrom: ["net": [CIDR("172.18.0.1")!], "net-egress": [CIDR("172.19.0.1")!]],
        hostAddresses: [CIDR("203.0.113.4")!, CIDR("10.1.2.3")!])

    @Test func thePolicyFollowsTheProfileAndTheNetwork() throws {
        let closed = Self.firewall.policy(for: .builtIn, network: "net")
        #expect(closed == SandboxNetworkPolicy(
            egress: .none, deny: [CIDR("203.0.113.4")!, CIDR("10.1.2.3")!], inboundFrom: [CIDR("172.18.0.1")!]))
        let web = try #require(try DockerProfiles.parse(Array(#"{"default": {}, "web": {"egress": true, "egressAllow": ["10.9.9.9", "fd00::/64"]}}"#.utf8))["web"])
        let open = Self.firewall.policy(for: web, network: "net-egress")
        #expect(open.egress == .public && open.inboundFrom == [CIDR("172.19.0.1")!])
        #expect(open.allow == [CIDR("10.9.9.9/32")!, CIDR("fd00::/64")!])
    }

    @Test func theContainerAsksForThePolicyAndHoldsNetAdminOnlyThen() throws {
        let labels = SessionLabels(
            sessionId: "demo", owner: SessionOwner(kind: "user", id: "alice"), orgId: "org", profile: "default", image: nil, createdAtMs: 1,
            ttlMs: 0, idleTimeoutMs: 0)
        var sandbox = SandboxContainer(
            labels: labels, profile: .builtIn, image: "runnerd-sandbox:local", network: "net", scope: "s1", runnerdPort: 8200, killGraceMs: 2_000,
            logLevel: "info", networkPolicy: Self.firewall.policy(for: .builtIn, network: "net"))
        let confined = sandbox.createBody
        #expect(confined.hostConfig.capAdd == ["CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "SETGID", "SETPCAP", "SETUID", "NET_ADMIN"])
        #expect(confined.hostConfig.capDrop == ["ALL"] && confined.hostConfig.securityOpt == ["no-new-privileges"])
        for entry in [
            "RUNNERD_NET_POLICY=confined", "RUNNERD_NET_EGRESS=none", "RUNNERD_NET_ALLOW=", "RUNNERD_NET_DENY=203.0.113.4/32,10.1.2.3/32",
            "RUNNERD_NET_INBOUND_FROM=172.18.0.1/32",
        ] {
            #expect(confined.env.contains(entry), "\(entry) in \(confined.env)")
        }
        sandbox.networkPolicy = nil
        let unconfined = sandbox.createBody
        #expect(unconfined.hostConfig.capAdd == SandboxContainer.capabilities)
        #expect(!unconfined.env.contains { $0.hasPrefix("RUNNERD_NET_") })
    }

    @Test func egressAllowIsCheckedAtStart() throws {
        #expect(throws: SpawnerConfig.Invalid.self) {
            try DockerProfiles.parse(Array(#"{"default": {"egress": true, "egressAllow": ["10.0.0.0/33"]}}"#.utf8))
        }
        #expect(throws: SpawnerConfig.Invalid.self) {
            try DockerProfiles.parse(Array(#"{"default": {"egressAllow": ["10.0.0.1"]}}"#.utf8))
        }
        #expect(try DockerProfiles.parse(Array(#"{"default": {}}"#.utf8))["default"]?.egressAllow == [])
    }

    @Test func thePolicyCanBeTurnedOffOnlyByName() throws {
        #expect(try DockerSettings.resolve(environment: [:], secret: Self.secret).networkPolicy)
        #expect(try DockerSettings.resolve(environment: ["SPAWNER_DOCKER_NETWORK_POLICY": "confined"], secret: Self.secret).networkPolicy)
        #expect(try !DockerSettings.resolve(environment: ["SPAWNER_DOCKER_NETWORK_POLICY": "off"], secret: Self.secret).networkPolicy)
        #expect(throws: SpawnerConfig.Invalid.self) {
            try DockerSettings.resolve(environment: ["SPAWNER_DOCKER_NETWORK_POLICY": "false"], secret: Self.secret)
        }
    }

    @Test func theHostsAddressesAreRead() {
        let addresses = SandboxFirewall.localAddresses()
        #expect(addresses.contains(CIDR("127.0.0.1")!), "\(addresses)")
    }
}
