import RunnerProtocol
import SpawnerCore

/// How a session's container is made: the image, runnerd's environment, the two volumes, the
/// network, the limits of its profile, and the hardening (docs/docker.md explains each).
struct SandboxContainer {
    /// The workspace volume's mount point (`RUNNERD_WORKSPACE`), owned by the agent.
    static let workspacePath = "/agent"
    /// The runnerd volume's mount point: root-only (0700), holding the token file and the
    /// exec journal, outside the workspace and out of the agents' reach.
    static let runnerdPath = "/var/lib/runnerd"
    static let tokenFile = runnerdPath + "/token"
    static let journalPath = runnerdPath + "/journal"

    /// The capabilities runnerd keeps, all others dropped. Measured (docs/docker.md,
    /// `SandboxImageTests.eachCapabilityIsNeeded`): without any one, runnerd fails at something:
    /// - CHOWN: giving the workspace and staged files to the agent (it refuses to start without);
    /// - DAC_OVERRIDE: writing into and deleting from the agent's directories; its terminals;
    /// - FOWNER: replacing a file in a sticky directory of the agent's;
    /// - KILL: signalling agent processes (cancel, timeout, signals, shutdown);
    /// - SETGID, SETUID: dropping its groups at boot, starting agents as uid/gid 10001, reading
    ///   with the agent's filesystem identity;
    /// - SETPCAP: emptying the agent's capability bounding set.
    static let capabilities = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "SETGID", "SETPCAP", "SETUID"]
    /// Held by runnerd for its boot only: it installs the sandbox's network policy with it in
    /// the container's own network namespace, then drops it from every set, the bounding set
    /// included (`NetworkConfinement`). Not granted when no policy is asked for.
    static let bootCapabilities = ["NET_ADMIN"]

    var labels: SessionLabels
    var profile: DockerProfile
    var image: String
    var network: String
    var scope: String
    var runnerdPort: Int
    var killGraceMs: Int64
    var logLevel: String
    /// The network policy runnerd installs at boot; nil: none (`SPAWNER_DOCKER_NETWORK_POLICY=off`).
    var networkPolicy: SandboxNetworkPolicy?

    var names: SandboxNames { SandboxNames(sessionId: labels.sessionId) }

    /// Seconds `POST /containers/{id}/stop` waits between SIGTERM and SIGKILL: runnerd's own
    /// grace for its execs and a margin to write its journal and exit.
    var stopGraceSeconds: Int { Int((killGraceMs + 999) / 1000) + 3 }

    /// The body of `POST /containers/create`.
    var createBody: DockerModels.ContainerCreate {
        let mebibyte: Int64 = 1 << 20
        let memory = Int64(profile.memoryMiB) * mebibyte
        return DockerModels.ContainerCreate(
            image: image,
            hostname: Self.hostname(labels.sessionId),
            env: [
                "RUNNERD_LISTEN=0.0.0.0:\(runnerdPort)",
                "RUNNERD_WORKSPACE=\(Self.workspacePath)",
                "RUNNERD_STATE_DIR=\(Self.journalPath)",
                "RUNNERD_TOKEN_FILE=\(Self.tokenFile)",
                "RUNNERD_KILL_GRACE_MS=\(killGraceMs)",
                "RUNNERD_LOG_LEVEL=\(logLevel)",
            ] + (networkPolicy?.environment ?? []) + (labels.runnerdAgentUIDVariable.map { [$0] } ?? []),
            labels: SandboxLabels.encode(labels, scope: scope, role: .sandbox, network: network),
            // The spawner probes runnerd itself; an image health check would be a process the
            // engine execs into the sandbox, outside runnerd's control.
            healthcheck: .init(test: ["NONE"]),
            stopSignal: "SIGTERM",
            stopTimeout: stopGraceSeconds,
            hostConfig: .init(
                mounts: [
                    .init(source: names.workspaceVolume, target: Self.workspacePath),
                    .init(source: names.runnerdVolume, target: Self.runnerdPath),
                ],
                tmpfs: ["/tmp": "rw,nosuid,nodev,size=\(profile.tmpMiB)m,mode=1777"],
                readonlyRootfs: profile.readOnlyRootfs,
                capDrop: ["ALL"],
                capAdd: Self.capabilities + (networkPolicy == nil ? [] : Self.bootCapabilities),
                securityOpt: ["no-new-privileges"],
                memory: memory,
                memorySwap: memory,
                nanoCpus: Int64((profile.cpus * 1e9).rounded()),
                pidsLimit: Int64(profile.pids),
                networkMode: network,
                restartPolicy: .init(name: "no"),
                logConfig: .init(type: "json-file", config: ["max-size": "1m", "max-file": "2"]),
                initProcess: false),
            networkingConfig: .init(endpointsConfig: [network: .init()]))
    }

    /// The token as a tar archive for `PUT /containers/{id}/archive` at `runnerdPath`:
    /// `token`, mode 0400, root's.
    static func tokenArchive(_ token: String) -> [UInt8] {
        var archive = TarArchive()
        archive.append(.init(name: "token", mode: 0o400, contents: Array(token.utf8)))
        return archive.finished
    }

    /// The session id as a host name, when it is a valid one (no leading or trailing dash).
    static func hostname(_ sessionId: String) -> String {
        sessionId.hasPrefix("-") || sessionId.hasSuffix("-") ? "sandbox" : sessionId
    }
}
