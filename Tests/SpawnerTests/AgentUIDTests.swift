import Foundation
import RunnerProtocol
@testable import SpawnerCore
@testable import SpawnerDocker
@testable import SpawnerKubernetes
import Testing

/// Each session's agent uid: the range, the allocation (no uid of a live session, a kept
/// workspace's back when free), and where each backend puts it (runnerd's env, labels).
@Suite(.timeLimit(.minutes(1))) struct AgentUIDTests {
    @Test func rangesParseAndRefuseWhatCannotBeAnAgent() throws {
        #expect(try AgentUIDSetting.parse(nil) == .range(.standard))
        #expect(try AgentUIDSetting.parse("off") == .off)
        #expect(try AgentUIDSetting.parse("300000-300009").range == AgentUIDRange(lower: 300_000, upper: 300_009))
        for bad in ["0-10", "10-5000", "5000-10", "x-y", "5000", "5000-4294967295", "-5-6"] {
            #expect(throws: InvalidAgentUIDs.self, "\(bad)") { try AgentUIDSetting.parse(bad) }
        }
    }

    @Test func allocationSkipsLiveSessionsAndPrefersAKeptUid() throws {
        let range = try #require(AgentUIDRange(lower: 200_000, upper: 200_003))
        var taken: Set<UInt32> = []
        for index in 0..<4 {
            let uid = try #require(range.allocate(for: "s-\(index)", inUse: taken))
            #expect(range.contains(uid) && !taken.contains(uid))
            taken.insert(uid)
        }
        #expect(range.allocate(for: "s-4", inUse: taken) == nil, "all four taken")
        // The same id starts from the same place: a session created again gets its uid back.
        #expect(range.allocate(for: "again", inUse: []) == range.allocate(for: "again", inUse: []))
        #expect(range.allocate(for: "kept", inUse: [200_001], preferred: 200_002) == 200_002)
        #expect(range.allocate(for: "kept", inUse: [200_002], preferred: 200_002) != 200_002)
        // 10001 (the image's shared uid) and nobody are never handed out.
        let around = try #require(AgentUIDRange(lower: 10_000, upper: 10_002))
        #expect(Set((0..<3).compactMap { around.allocate(for: "x\($0)", inUse: [10_000, 10_002]) }) == [])
    }

    static let labels: SessionLabels = {
        var labels = SessionLabels(
            sessionId: "s-1", owner: SessionOwner(kind: "user", id: "alice"), orgId: "org-a", profile: "default", image: nil,
            createdAtMs: 1_000, ttlMs: 5_000, idleTimeoutMs: 0)
        labels.agentUID = 200_417
        return labels
    }()

    @Test func kubernetesPodsCarryTheUidInEnvLabelAndAnnotation() throws {
        let connection = KubernetesConnection(server: "https://k", tls: nil, credentials: .none, namespace: nil, source: "test")
        let manifests = SandboxManifests(settings: KubernetesSettings(connection: connection, namespace: "sandboxes"), runnerdKillGraceMs: 2_000, runnerdLogLevel: "info")
        let pod = manifests.pod(SandboxSpec(labels: Self.labels, runnerdToken: "t"), profile: SandboxProfile(), createId: "c1")
        let container = try #require(pod.spec.containers.first)
        #expect(container.env?.contains(EnvVar("RUNNERD_AGENT_UID", "200417:200417")) == true)
        // runnerd itself stays root: it is what switches the agents.
        #expect(container.securityContext?.runAsUser == 0)
        #expect(pod.metadata.labels?["spawner.runnerd.dev/agent-uid"] == "200417")
        #expect(SandboxMetadata.session(of: pod.metadata)?.agentUID == 200_417, "re-adoption reads it back")
    }

    @Test func dockerContainersCarryTheUidInEnvAndLabels() throws {
        let encoded = SandboxLabels.encode(Self.labels, scope: "s1", role: .sandbox, network: "net")
        #expect(encoded["spawner.agent-uid"] == "200417")
        #expect(SandboxLabels.decode(encoded)?.agentUID == 200_417)
        #expect(SandboxLabels.encode(Self.labels, scope: "s1", role: .workspace)["spawner.agent-uid"] == "200417")
        #expect(Self.labels.runnerdAgentUIDVariable == "RUNNERD_AGENT_UID=200417:200417")
        var unassigned = Self.labels
        unassigned.agentUID = nil
        #expect(unassigned.runnerdAgentUIDVariable == nil)
    }
}
