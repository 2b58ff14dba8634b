import Foundation
import RunnerProtocol
import Testing

/// The network confinement of docker sandboxes (docs/docker.md, "Network confinement"), checked
/// from inside real sandboxes as the agent, against a spawner on the host. Every destination
/// the test tries is either an address it made (listeners on the bridges' gateways, other
/// sandboxes, a namespace of its own standing for the internet) or one whose refusing rule it
/// has read first from the sandbox's ruleset; those are refused inside the sandbox before any
/// packet leaves (the rule's counter moves).
extension DockerSuites {
    @Suite(.timeLimit(.minutes(10))) struct NetworkConfinementTests {
        static let network = "spawner-test-netconf"

        @Test func sandboxesReachOnlyThePublicInternetAndOnlyTheSpawnerReachesThem() async throws {
            try DockerTestEnvironment.require()
            // The egress network made first, by the test (as the backend would: a bridge, not
            // internal, no inter-container traffic), so that its gateway is known for the
            // `allowed` profile's egressAllow.
            let egressNetwork = Self.network + "-egress"
            DockerCLI.runSync(["network", "rm", Self.network, egressNetwork])
            let made = await DockerCLI.run(["network", "create", "-o", "com.docker.network.bridge.enable_icc=false", egressNetwork])
            try #require(made.status == 0, "\(made.stderr)")
            defer { DockerCLI.runSync(["network", "rm", Self.network, egressNetwork]) }
            let egressGateway = try await NetworkProbe.gateway(egressNetwork)
            let profiles = TestPaths.makeTempDir("netconf-profiles") + "/profiles.json"
            try Data(
                """
                {"default": {},
                 "web": {"egress": true},
                 "allowed": {"egress": true, "egressAllow": ["\(egressGateway)/32"]}}
                """.utf8
            ).write(to: URL(fileURLWithPath: profiles))

            try await withDockerSpawner("netconf", environment: ["SPAWNER_DOCKER_NETWORK": Self.network, "SPAWNER_DOCKER_PROFILES": profiles]) {
                spawner, _ in
                let client = spawner.client
                for (session, profile) in [("nc-a", "default"), ("nc-b", "default"), ("nc-web", "web"), ("nc-allowed", "allowed")] {
                    _ = try await client.createSandbox(session, profile: profile)
                }
                let gateway = try await NetworkProbe.gateway(Self.network)
                let addressB = try await NetworkProbe.address("sandbox-nc-b", on: Self.network)
                let hostListener = try HostListener(address: gateway)
                let egressListener = try HostListener(address: egressGateway)
                try await NetworkProbe.startAgentListener(client, "nc-b", port: 9000)

                // runnerd kept exactly its seven capabilities: NET_ADMIN is gone from every set.
                let pid1 = DockerSuites.fields(try await client.runShell("nc-a", "pid1", "grep -E '^Cap(Eff|Prm|Inh|Bnd|Amb):' /proc/1/status").stdoutText)
                #expect(pid1["CapEff"] == DockerSuites.runnerdCapabilityMask)
                #expect(pid1["CapBnd"] == DockerSuites.runnerdCapabilityMask)
                #expect(pid1["CapPrm"] == DockerSuites.runnerdCapabilityMask)
                #expect(pid1["CapInh"] == "0000000000000000" && pid1["CapAmb"] == "0000000000000000")

                // The rules that refuse what the test may not send to, read first.
                let refused4 = try await NetworkProbe.setElements("sandbox-nc-a", "refused4")
                // Required, not expected: without the refusing rule no probe below is sent.
                for range in ["10.0.0.0/8", "100.64.0.0/10", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16"] {
                    try #require(refused4.contains(range), "refused4: \(refused4)")
                }
                let refused6 = try await NetworkProbe.setElements("sandbox-nc-a", "refused6")
                try #require(refused6.contains("fc00::/7") && refused6.contains("fe80::/10"), "refused6: \(refused6)")
                #expect(try await NetworkProbe.setElements("sandbox-nc-a", "inbound4") == [gateway], "only the spawner (the gateway) comes in")

                // As the agent in a: the host on the gateway, another sandbox's runnerd and an
                // agent's server there, the spawner's port, metadata and private ranges: all
                // refused inside a, at once.
                let before = try await NetworkProbe.refusedCount("sandbox-nc-a", "refused4")
                let forbidden = [
                    hostListener.target, "\(addressB):8200", "\(addressB):9000", "\(gateway):\(spawner.port)",
                    "169.254.169.254:80", "10.0.0.1:80", "192.168.0.1:80", "100.64.0.1:80", "172.16.0.1:80",
                ]
                let outcomes = try await NetworkProbe.connect(client, "nc-a", forbidden)
                for target in forbidden {
                    #expect(outcomes[target] == "ECONNREFUSED", "\(target) from a: \(outcomes[target] ?? "no answer")")
                }
                #expect(try await NetworkProbe.refusedCount("sandbox-nc-a", "refused4") - before >= forbidden.count, "the refusing rule answered each")
                let ipv6 = try await NetworkProbe.connect(client, "nc-a", ["[fc00::1]:80", "[fe80::1]:80"])
                for (target, outcome) in ipv6 { #expect(outcome != "connected" && outcome != "timeout", "\(target): \(outcome)") }
                #expect(hostListener.pending() == 0, "nothing reached the host's listener")

                // b's agent server answers inside b; from the host (even from the spawner's
                // address) only runnerd's port is open.
                #expect(try await NetworkProbe.connect(client, "nc-b", ["127.0.0.1:9000"]) == ["127.0.0.1:9000": "connected"])
                #expect(await NetworkProbe.hostCurl("http://\(addressB):9000/") == 7, "the agent's server from the host")
                #expect(await NetworkProbe.hostCurl("http://\(addressB):8200/readyz") == 0, "runnerd from the host")

                // The agent cannot read, undo or add to the rules.
                let undo = try await client.runShell("nc-a", "undo", """
                    /usr/sbin/nft list ruleset >/dev/null 2>&1; echo list=$?
                    /usr/sbin/nft flush ruleset 2>/dev/null; echo flush=$?
                    /usr/sbin/nft add table inet mine 2>/dev/null; echo add=$?
                    """)
                #expect(undo.stdoutText.split(separator: "\n").allSatisfy { !$0.hasSuffix("=0") && !$0.hasSuffix("=127") } && undo.stdoutText.contains("flush="), "\(undo.stdoutText)")
                #expect(try await NetworkProbe.setElements("sandbox-nc-a", "refused4") == refused4, "the rules are intact")

                // Egress: the internet (a namespace the test made, on a public address) is
                // reached; the host's gateway and metadata are not.
                try #require(try await NetworkProbe.setElements("sandbox-nc-web", "refused4").contains("169.254.0.0/16"))
                let outside = try await OutsideListener.start()
                defer { outside.stop() }
                let web = try await NetworkProbe.connect(
                    client, "nc-web", ["\(outside.address):\(outside.port)", egressListener.target, "169.254.169.254:80", "\(addressB):8200"])
                #expect(web["\(outside.address):\(outside.port)"] == "connected", "\(web)")
                #expect(web[egressListener.target] == "ECONNREFUSED", "\(web)")
                #expect(web["169.254.169.254:80"] == "ECONNREFUSED", "\(web)")
                #expect(web["\(addressB):8200"] == "ECONNREFUSED" || web["\(addressB):8200"] == "ENETUNREACH", "\(web)")
                #expect(egressListener.pending() == 0)

                // egressAllow opens exactly what it lists: the egress gateway's listener.
                #expect(try await NetworkProbe.setElements("sandbox-nc-allowed", "allowed4") == [egressGateway])
                try #require(try await NetworkProbe.setElements("sandbox-nc-allowed", "refused4").contains("169.254.0.0/16"))
                let allowed = try await NetworkProbe.connect(client, "nc-allowed", [egressListener.target, "169.254.169.254:80"])
                #expect(allowed[egressListener.target] == "connected", "\(allowed)")
                #expect(allowed["169.254.169.254:80"] == "ECONNREFUSED", "\(allowed)")
                #expect(egressListener.pending() == 1)

                for session in ["nc-a", "nc-b", "nc-web", "nc-allowed"] { try await client.deleteSession(session) }
            }
        }

        /// A sandbox image without nft cannot be confined: its runnerd refuses to start, the
        /// create fails with the reason, and nothing is left.
        @Test func aSandboxThatCannotBeConfinedIsNotCreated() async throws {
            try DockerTestEnvironment.require()
            let image = "runnerd-sandbox:no-nft-\(UInt32.random(in: 0...UInt32.max))"
            let built = await DockerCLI.run(
                ["build", "-q", "-t", image, "-"],
                input: Data("FROM \(DockerTestEnvironment.sandboxImage)\nRUN rm -f /usr/sbin/nft\n".utf8))
            try #require(built.status == 0, "\(built.stderr)")
            defer { DockerCLI.runSync(["image", "rm", "-f", image]) }
            try await withDockerSpawner("nonft", environment: ["SPAWNER_DOCKER_IMAGES": image]) { spawner, scope in
                let (status, body) = try await spawner.client.status(.POST, "/v1/sessions", body: try WireJSON.encode(
                    CreateSessionRequest(sessionId: "nonft", owner: SessionOwner(kind: "user", id: "a"), orgId: "o", image: image)))
                #expect(status >= 500, "\(String(describing: body))")
                #expect(body?.message?.contains("nft is missing") == true, "\(String(describing: body))")
                #expect(await DockerCLI.leftovers(scope: scope) == [])
            }
        }
    }
}
