import Logging
import RunnerProtocol
import SystemSupport

/// Installs the backend's network policy in the sandbox's own network namespace at boot, then
/// gives up CAP_NET_ADMIN for good, so that neither runnerd nor any agent can change it.
///
/// Runs before runnerd serves, before it loads its seccomp filter and before any other thread
/// exists (capabilities are per thread). Fails closed: a policy that was asked for and cannot
/// be installed, verified and made permanent stops runnerd with the reason. Without a policy
/// nothing is touched (the local backend, a container started by hand).
public enum NetworkConfinement {
    /// Where `nft` is looked for (the sandbox image installs nftables).
    static let nftCandidates = ["/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft", "/bin/nft"]

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
        init(_ reason: String) {
            description = "the network policy asked for (\(SandboxNetworkPolicy.policyVariable)) cannot be installed: \(reason); "
                + "runnerd does not start unconfined"
        }
    }

    /// Applies `policy` (nil: nothing to do) for runnerd's `port`; returns what `/healthz` reports.
    public static func install(_ policy: SandboxNetworkPolicy?, port: Int, logger: Logger) throws(Failure) -> Confinement.Network {
        guard let policy else { return .none }
        let started = ContinuousClock.now
        guard port > 0 else { throw Failure("runnerd's port must be fixed (RUNNERD_LISTEN with port 0)") }
        guard let threads = Syscall.threadCount(), threads == 1 else {
            throw Failure("runnerd has more than one thread at boot, so the capability could not be dropped from all of them")
        }
        let held: CapabilitySets
        do { held = try Syscall.capabilitySets(Syscall.capNetAdmin) } catch { throw Failure("\(error)") }
        guard held.contains(.effective) else {
            throw Failure("runnerd lacks CAP_NET_ADMIN (the container must be started with it: the docker backend adds it)")
        }
        guard let nft = nftCandidates.first(where: Syscall.isExecutable) else {
            throw Failure("nft is missing (install nftables in the sandbox image; looked in \(nftCandidates.joined(separator: ", ")))")
        }
        let ruleset = NftRuleset.render(policy, port: port)
        try run([nft, "-f", "-"], input: ruleset, what: "nft -f -")
        let listing = try run([nft, "list", "table", "inet", NftRuleset.table], input: "", what: "nft list table")
        if let missing = NftRuleset.missing(in: listing, port: port) {
            throw Failure("the installed ruleset does not read back as written (\(missing)):\n\(listing)")
        }
        do {
            try Syscall.dropCapability(Syscall.capNetAdmin)
            let left = try Syscall.capabilitySets(Syscall.capNetAdmin)
            guard left.isEmpty else { throw Failure("CAP_NET_ADMIN is still held after the drop (sets \(left.rawValue))") }
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure("dropping CAP_NET_ADMIN: \(error)")
        }
        let took = (ContinuousClock.now - started).components
        logger.info("network confined", metadata: [
            "egress": "\(policy.egress.rawValue)", "allow": "\(policy.allow.map(\.description))",
            "inboundFrom": "\(policy.inboundFrom.map(\.description))", "deny": "\(policy.deny.count)",
            "tookMs": "\(took.seconds * 1000 + took.attoseconds / 1_000_000_000_000_000)",
        ])
        return .confined
    }

    private static func run(_ argv: [String], input: String, what: String) throws(Failure) -> String {
        let outcome: HelperCommand.Outcome
        do {
            outcome = try HelperCommand.run(argv, input: Array(input.utf8))
        } catch {
            throw Failure("\(what): \(error)")
        }
        guard outcome.status.exitCode == 0 else {
            throw Failure("\(what) exited with \(outcome.status.exitCode): \(outcome.text)")
        }
        return outcome.text
    }
}
