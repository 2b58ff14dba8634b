import Glibc
import Logging
import RunnerProtocol
import SystemSupport

/// The agent's account and Landlock, set up once at boot, and what `/healthz` says confines
/// the agents.
extension HardeningPolicy {
    /// Writes the agent's passwd and group entries (`AgentAccount`) when runnerd switches to
    /// the agent and `RUNNERD_IDENTITY_DIR` says where. Before `setUpLandlock`, which allows
    /// reading the files `/etc/passwd` and `/etc/group` link to.
    mutating func setUpAgentAccount(config: RunnerdConfig, home: String) throws(SystemError) {
        guard switchesUser, let directory = config.identityDir else { return }
        let shell = Syscall.isExecutable("/bin/bash") ? "/bin/bash" : "/bin/sh"
        let account = AgentAccount(uid: agentUID, gid: agentGID, home: home, shell: shell)
        try account.write(into: directory, baseDirectory: config.identityBase)
        agentUserName = account.name
    }

    /// Decides Landlock for every agent: the rules when the kernel has it and it is on, else
    /// why not (reported by `/healthz`, logged as a warning: never silently absent).
    mutating func setUpLandlock(config: RunnerdConfig, workspace: String, environment: [String], logger: Logger) {
        guard enabled else {
            landlockState = LandlockConfinement(enforced: false, missing: "exec hardening off (RUNNERD_HARDENING=off)")
            return
        }
        let abi: Int
        switch Syscall.landlockABI() {
        case .success(let version):
            abi = version
        case .failure(let error):
            landlockState = LandlockConfinement(enforced: false, missing: "kernel without Landlock: \(error)")
            logger.warning("Landlock unavailable: agents can open any file their uid may", metadata: ["error": "\(error)"])
            return
        }
        guard config.landlock else {
            landlockState = LandlockConfinement(enforced: false, abi: abi, missing: "RUNNERD_LANDLOCK=off")
            logger.warning("Landlock off (RUNNERD_LANDLOCK=off): agents can open any file their uid may")
            return
        }
        let temporary = ["/tmp"] + environment.compactMap { $0.hasPrefix("TMPDIR=") ? String($0.dropFirst(7)) : nil }
        let rules = LandlockRules.forAgents(
            workspace: workspace, temporary: temporary, extraRead: config.landlockRead, extraWrite: config.landlockWrite,
            realPath: { try? Syscall.realpath($0) })
        landlock = rules
        landlockState = LandlockConfinement(enforced: true, abi: abi)
        logger.debug("Landlock for agents", metadata: [
            "abi": "\(abi)", "rules": "\(rules.rules.map { "\($0.access.rawValue):\($0.path)" }.joined(separator: " "))",
        ])
    }

    /// What confines the agents, for `/healthz`.
    public var confinement: Confinement {
        Confinement(
            landlock: landlockState,
            agent: switchesUser
                ? AgentIdentity(uid: agentUID, gid: agentGID, user: agentUserName, switched: true)
                : AgentIdentity(uid: geteuid(), gid: getegid(), switched: false))
    }
}
