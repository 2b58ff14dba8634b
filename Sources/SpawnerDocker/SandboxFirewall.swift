import RunnerProtocol
import SystemSupport

/// The network policy each sandbox's runnerd installs in its own network namespace at boot
/// (`SandboxNetworkPolicy`; docs/docker.md, "Network confinement"), worked out once when the
/// backend starts:
/// - who may open connections to runnerd: the spawner as the sandbox sees it, per network (the
///   bridge's gateway for a spawner on the host or on the host's network; the spawner
///   container's own address on the network it joined otherwise);
/// - which addresses are refused on top of the non-public ranges: the host's own, as
///   `getifaddrs` lists them here (a public address of the host would otherwise be reachable
///   from an egress sandbox, and with it every host service bound to all addresses);
/// - per profile: egress to public addresses or none, and its `egressAllow`.
struct SandboxFirewall: Sendable {
    /// The spawner's addresses per sandbox network.
    var inboundFrom: [String: [CIDR]]
    /// The host's addresses (the spawner's network namespace's).
    var hostAddresses: [CIDR]

    /// The policy for a sandbox of `profile` on `network`.
    func policy(for profile: DockerProfile, network: String) -> SandboxNetworkPolicy {
        SandboxNetworkPolicy(
            egress: profile.egress ? .public : .none, allow: profile.egressAllow, deny: hostAddresses,
            inboundFrom: inboundFrom[network] ?? [])
    }

    /// The addresses of this network namespace's interfaces; none when they cannot be read
    /// (the private ranges they usually fall in are refused anyway).
    static func localAddresses() -> [CIDR] {
        ((try? Syscall.interfaceAddresses()) ?? []).compactMap { CIDR($0) }
    }
}
