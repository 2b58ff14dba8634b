import Foundation
import RunnerProtocol
import RunnerdClient
import Testing

/// runnerd's network confinement (`RUNNERD_NET_*`, docs/docker.md): without the variables it
/// touches nothing and says so; asked for it without CAP_NET_ADMIN (a container's default
/// capabilities, an ordinary user) it refuses to start; with it, in a network namespace of its
/// own, it installs the ruleset, keeps serving, and neither it nor an agent holds the
/// capability to change the rules afterwards. The docker suite checks what the rules refuse
/// from inside real sandboxes (`NetworkConfinementTests`).
@Suite("runnerd network policy", .timeLimit(.minutes(3)))
struct NetworkPolicyTests {
    static let policy = [
        "RUNNERD_NET_POLICY": "confined", "RUNNERD_NET_EGRESS": "none", "RUNNERD_NET_INBOUND_FROM": "127.0.0.1",
    ]
    static let netAdminBit: UInt64 = 1 << 12

    static func mask(_ value: String?) -> UInt64? { value.flatMap { UInt64($0, radix: 16) } }

    @Test func withoutAPolicyRunnerdLeavesTheNetworkAloneAndSaysSo() async throws {
        let runnerd = try await RunnerdProcess.start()
        let health = try await runnerd.client.health()
        #expect(health.confinement?.network == Confinement.Network.none)
        #expect(await runnerd.stop() == 0, "runnerd log:\n\(runnerd.log)")
    }

    @Test(arguments: [LaunchProfile.container, .user])
    func aPolicyThatCannotBeInstalledStopsRunnerd(_ profile: LaunchProfile) async throws {
        try #require(getuid() == 0, "starting runnerd with reduced privileges needs root (CI runs as root)")
        do {
            // A fixed port (a confined runnerd needs one; it never binds it here).
            let runnerd = try await RunnerdProcess.start(environment: Self.policy.merging(["RUNNERD_LISTEN": "127.0.0.1:8200"]) { $1 }, profile: profile)
            await runnerd.stop()
            Issue.record("runnerd served unconfined under \(profile)")
        } catch let failure as RunnerdProcess.StartFailure {
            #expect(failure.status != 0)
            #expect(failure.log.contains("lacks CAP_NET_ADMIN"), "\(failure.log)")
            #expect(failure.log.contains("runnerd does not start unconfined"), "\(failure.log)")
        }
    }

    @Test func aPolicyItCannotReadStopsRunnerd() async throws {
        var environment = Self.policy
        environment["RUNNERD_NET_ALLOW"] = "10.0.0.0/8,not-a-network"
        await #expect(throws: RunnerdProcess.StartFailure.self) {
            try await RunnerdProcess.start(environment: environment)
        }
    }

    /// runnerd as root in a fresh network namespace (`unshare --net`: only loopback, nothing of
    /// the test machine's network): it installs the table, drops CAP_NET_ADMIN from every set
    /// including the bounding set, and its agents cannot list, flush or replace the rules.
    /// The test reaches runnerd on the namespace's loopback through `nsenter` + curl.
    @Test(.enabled(if: getuid() == 0, "needs root to make a network namespace and hold CAP_NET_ADMIN in it"))
    func inItsOwnNamespaceRunnerdConfinesAndLetsGoOfTheCapability() async throws {
        var environment = Self.policy
        environment["RUNNERD_LISTEN"] = "0.0.0.0:8200"
        // A new namespace's loopback starts down; the shell brings it up and execs runnerd.
        let wrapper = ["/usr/bin/unshare", "--net", "/bin/sh", "-c", "ip link set lo up && exec \"$0\" \"$@\""]
        let runnerd = try await RunnerdProcess.start(environment: environment, wrapper: wrapper, profile: .root)
        do {
            try await confinesAndLetsGoOfTheCapability(runnerd)
        } catch {
            _ = await runnerd.stop()
            throw error
        }
        #expect(await runnerd.stop() == 0, "runnerd log:\n\(runnerd.log)")
    }

    private func confinesAndLetsGoOfTheCapability(_ runnerd: RunnerdProcess) async throws {
        let token = try #require(runnerd.token)

        let own = try #require(ProcStatus.fields(pid: runnerd.pid))
        for set in ["CapEff", "CapPrm", "CapInh", "CapBnd", "CapAmb"] {
            let mask = try #require(Self.mask(own[set]), "\(set) of runnerd")
            #expect(mask & Self.netAdminBit == 0, "runnerd \(set) = \(own[set] ?? "") still holds CAP_NET_ADMIN")
        }
        #expect(Self.mask(own["CapEff"]).map { $0 != 0 } == true, "runnerd keeps its other capabilities")

        // The table, read from outside with the test's own privileges.
        let listing = try HostCommand.succeed(["nsenter", "--net=/proc/\(runnerd.pid)/ns/net", "nft", "list", "table", "inet", "runnerd"])
        #expect(listing.contains("policy drop"), "\(listing)")
        #expect(listing.contains("tcp dport 8200 accept"), "\(listing)")

        // runnerd answers on the namespace's loopback, and reports the confinement.
        let health = try Self.curl(runnerd.pid, token: token, ["http://127.0.0.1:8200/healthz"])
        let decoded = try WireJSON.decode(HealthResponse.self, from: Array(health.utf8))
        #expect(decoded.confinement?.network == .confined)

        // An agent cannot read, flush or add to the rules, nor touch a link or a route.
        let script = """
            /usr/sbin/nft list ruleset >/dev/null 2>&1; echo list=$?
            /usr/sbin/nft flush ruleset 2>/dev/null; echo flush=$?
            /usr/sbin/nft add table inet mine 2>/dev/null; echo add=$?
            /usr/sbin/ip link set lo down 2>/dev/null; echo link=$?
            /usr/sbin/ip route add 10.0.0.0/8 dev lo 2>/dev/null; echo route=$?
            grep -E '^Cap(Eff|Bnd)' /proc/self/status
            """
        let output = try Self.exec(runnerd.pid, token: token, shell: script)
        for step in ["list", "flush", "add", "link", "route"] {
            // Failed, and not for want of the tool (127).
            #expect(output.contains("\(step)=") && !output.contains("\(step)=0\n") && !output.contains("\(step)=127"), "\(step) as the agent: \(output)")
        }
        #expect(output.contains("CapEff:\t0000000000000000") && output.contains("CapBnd:\t0000000000000000"), "\(output)")
        let after = try HostCommand.succeed(["nsenter", "--net=/proc/\(runnerd.pid)/ns/net", "nft", "list", "table", "inet", "runnerd"])
        #expect(after.contains("tcp dport 8200 accept"), "the table is still there: \(after)")
        #expect(!(try HostCommand.succeed(["nsenter", "--net=/proc/\(runnerd.pid)/ns/net", "nft", "list", "tables"])).contains("mine"))
    }

    /// curl run in runnerd's network namespace (the test's own uid and privileges).
    static func curl(_ pid: Int32, token: String, _ arguments: [String]) throws -> String {
        try HostCommand.succeed(
            ["nsenter", "--net=/proc/\(pid)/ns/net", "curl", "-sS", "--fail-with-body", "-H", "Authorization: Bearer \(token)"] + arguments)
    }

    /// An exec's stdout, run through runnerd's API from inside its namespace.
    static func exec(_ pid: Int32, token: String, shell: String) throws -> String {
        let request = ExecRequest(execId: "net-\(UUID().uuidString.prefix(8))", shell: shell, timeoutMs: 30_000)
        let body = String(decoding: try WireJSON.encode(request), as: UTF8.self)
        let stream = try curl(pid, token: token, ["-X", "POST", "-H", "Content-Type: application/json", "--data-binary", body, "http://127.0.0.1:8200/execs"])
        var stdout: [UInt8] = []
        for line in stream.split(separator: "\n") {
            if case .stdout(let bytes) = try EventReader.decode(Array(line.utf8)).body { stdout += bytes }
        }
        return String(decoding: stdout, as: UTF8.self)
    }
}
