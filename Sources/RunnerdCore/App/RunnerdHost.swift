import Logging
import RunnerProtocol
import SystemSupport

/// Stage one of runnerd's start: the host prepared. The workspace and the state directory
/// exist, the hardening policy is decided (the shim is there when hardening is on), the agents'
/// base environment and the seeded env store are known.
///
/// `prepare` touches nothing process-wide; `adoptProcess` then does what only a sandbox's
/// runnerd does to its own process (subreaper, secrets out of its environment, the seccomp
/// filter, the agent's ownership of the workspace, no supplementary groups). A test that runs
/// runnerd in process stops after `prepare`.
public struct RunnerdHost: Sendable {
    public let workspace: Workspace
    public let stateDir: String
    /// The state directory, open for the life of the process (the journal's home).
    public let stateFD: CInt
    public private(set) var hardening: HardeningPolicy
    /// runnerd's environment without its secrets, as every agent process starts with it.
    public let baseEnvironment: [String]
    /// The env store seeded from `RUNNERD_SESSION_ENV`.
    public let envStore: EnvStore

    public static func prepare(_ config: RunnerdConfig, logger: Logger) throws -> RunnerdHost {
        try Syscall.makeDirectories(config.workspace)
        let stateDir = config.resolvedStateDir
        let stateFD = try StateDirectory.open(stateDir, logger: logger)
        do {
            let workspace = try Workspace(path: config.workspace, reserving: stateFD)
            var hardening = try hardeningPolicy(config)
            var baseEnvironment = Syscall.environment().filter { entry in
                !RunnerdConfig.secretVariables.contains { entry.hasPrefix($0 + "=") }
            }
            if hardening.switchesUser {
                // runnerd's HOME (root's) is not the agent's: the agent's home is its workspace,
                // unless RUNNERD_AGENT_HOME names another.
                let home = config.agentHome ?? workspace.realPath
                baseEnvironment = baseEnvironment.filter { !$0.hasPrefix("HOME=") } + ["HOME=\(home)"]
            }
            // The agent's passwd entry first: Landlock's rules include where /etc/passwd links.
            try hardening.setUpAgentAccount(config: config, home: config.agentHome ?? workspace.realPath)
            hardening.setUpLandlock(config: config, workspace: workspace.realPath, environment: baseEnvironment, logger: logger)
            var envStore = EnvStore()
            let denied = try envStore.apply(EnvPatch(set: config.sessionEnv))
            if !denied.isEmpty { logger.warning("RUNNERD_SESSION_ENV names denied", metadata: ["names": "\(denied)"]) }
            return RunnerdHost(
                workspace: workspace, stateDir: stateDir, stateFD: stateFD, hardening: hardening, baseEnvironment: baseEnvironment,
                envStore: envStore)
        } catch {
            Syscall.close(stateFD)
            throw error
        }
    }

    /// What runnerd does to its own process before it serves.
    public mutating func adoptProcess(logger: Logger) throws {
        if Syscall.processID != 1 {
            // Orphans come back to runnerd, as they would to PID 1: a server an exec left
            // running stays in the sandbox's process table (and is reaped here).
            do { try Syscall.becomeChildSubreaper() } catch { logger.warning("not a child subreaper", metadata: ["error": "\(error)"]) }
        }
        for name in RunnerdConfig.secretVariables { Syscall.unsetenv(name) }
        if hardening.enabled {
            // Before any agent exists: every one of them inherits the filter.
            do {
                let instructions = try InheritedSeccomp.install(shim: hardening.shimPath)
                hardening.seccompInherited = true
                logger.debug("seccomp filter installed on runnerd", metadata: ["instructions": "\(instructions)"])
            } catch {
                logger.warning("seccomp filter not installed on runnerd; the shim attaches it at each exec", metadata: ["error": "\(error)"])
            }
        }
        if hardening.switchesUser {
            // The agent must be able to write its workspace.
            try Syscall.chown(workspace.realPath, hardening.agentUID, hardening.agentGID)
            // The files API acts under the agent's filesystem uid/gid (`WorkspaceFiles`); root's
            // supplementary groups would still count there, and runnerd needs none.
            try Syscall.clearSupplementaryGroups()
        }
        if !hardening.unapplied.isEmpty {
            logger.warning("exec hardening is partial", metadata: ["notApplied": "\(hardening.unapplied.joined(separator: "; "))"])
        }
    }

    /// Closes the state directory (once runnerd has stopped).
    public func close() {
        Syscall.close(stateFD)
    }

    /// The hardening of this runnerd: the shim must exist when hardening is on.
    static func hardeningPolicy(_ config: RunnerdConfig) throws -> HardeningPolicy {
        let shim = config.execShim ?? siblingExecutable("runnerd-exec-shim")
        if config.hardening && !Syscall.isExecutable(shim) {
            throw RunnerdConfig.Invalid("exec hardening is on but \(shim) is missing (build it with `bash scripts/build-shim DIR`, set RUNNERD_EXEC_SHIM, or RUNNERD_HARDENING=off)")
        }
        return HardeningPolicy(
            enabled: config.hardening, agentUID: config.agentUID, agentGID: config.agentGID,
            nofile: .init(config.rlimitNofile), nproc: .init(config.rlimitNproc), fsize: .init(config.rlimitFsize),
            shimPath: shim)
    }

    /// A file next to the running runnerd binary.
    static func siblingExecutable(_ name: String) -> String {
        let me = (try? Syscall.realpath("/proc/self/exe")) ?? CommandLine.arguments[0]
        return String(me[..<(me.lastIndex(of: "/") ?? me.startIndex)]) + "/" + name
    }
}
