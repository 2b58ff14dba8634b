import Logging
import SpawnerCore
import SystemSupport

/// The networks sandboxes join, made once when the backend starts: a user-defined bridge
/// created `Internal` (no route out) for every profile without egress, and `<name>-egress`
/// (with a route out) when a profile has egress. Inter-container traffic is off on both unless
/// configured on. A network that exists already must have those properties, so that a
/// misconfigured one can never hand sandboxes a way out they were not meant to have.
///
/// When the spawner runs in a container itself, it joins the networks (that is how it reaches
/// runnerd), unless that container shares the host's network.
struct SandboxNetworks {
    let engine: DockerEngine
    let settings: DockerSettings
    let needsEgress: Bool
    let logger: Logger

    static let iccOption = "com.docker.network.bridge.enable_icc"
    static let managedLabel = "spawner.managed-network"

    /// The networks the profiles need, by egress.
    var wanted: [(name: String, egress: Bool)] {
        [(settings.network, false)] + (needsEgress ? [(settings.egressNetwork, true)] : [])
    }

    /// The network a session of `profile` joins.
    func network(egress: Bool) -> String { egress ? settings.egressNetwork : settings.network }

    /// Makes or checks every network, then joins the spawner's own container to them.
    func prepare() async throws {
        for (name, egress) in wanted { try await ensure(name, egress: egress) }
        try await joinSelf()
    }

    private func ensure(_ name: String, egress: Bool) async throws {
        let icc = settings.interContainerTraffic ? "true" : "false"
        if try await engine.inspectNetwork(name) == nil {
            do {
                try await engine.createNetwork(.init(
                    name: name, internalOnly: !egress, options: [Self.iccOption: icc], labels: [Self.managedLabel: "true"]))
                logger.info("created the sandbox network", metadata: ["network": "\(name)", "internal": "\(!egress)", "icc": "\(icc)"])
            } catch let error as DockerEngineError where error.isConflict {
                // Another spawner made it meanwhile; checked below like any existing one.
            }
        }
        guard let network = try await engine.inspectNetwork(name) else {
            throw DockerEngineError(status: 0, message: "network \(name) vanished while it was being set up")
        }
        let internalOnly = network.internalOnly ?? false
        let hasICC = network.options?[Self.iccOption].map { $0 == "true" } ?? true
        guard network.driver == "bridge", internalOnly == !egress, hasICC == settings.interContainerTraffic else {
            throw DockerEngineError(
                status: 0,
                message: "network \(name) exists with driver \(network.driver ?? "?"), internal \(internalOnly), inter-container traffic \(hasICC); "
                    + "the docker backend needs a bridge with internal \(!egress) and inter-container traffic \(settings.interContainerTraffic) "
                    + "(remove the network, or set SPAWNER_DOCKER_NETWORK / SPAWNER_DOCKER_ICC)")
        }
    }

    /// Joins the container the spawner runs in (if any) to the sandbox networks.
    private func joinSelf() async throws {
        let name: String
        switch settings.selfContainer {
        case .none: return
        case .named(let given): name = given
        case .detect:
            guard let detected = Self.ownContainerId() else { return }
            name = detected
        }
        guard let me = try await engine.inspectSelf(name) else {
            if case .named = settings.selfContainer {
                throw DockerEngineError(status: 404, message: "SPAWNER_DOCKER_SELF names \(name), which this engine does not know")
            }
            logger.warning("this process looks containerized, but the engine does not know its container; not joining networks", metadata: ["container": "\(name)"])
            return
        }
        if me.hostConfig.networkMode == "host" { return }
        guard settings.interContainerTraffic else {
            throw DockerEngineError(
                status: 0,
                message: "the spawner runs in container \(name) on a bridge network: it reaches sandboxes over their bridge, which needs "
                    + "SPAWNER_DOCKER_ICC=true (or run the spawner with the host's network, network_mode: host)")
        }
        let joined = Set((me.networkSettings.networks ?? [:]).keys)
        for (network, _) in wanted where !joined.contains(network) {
            do {
                try await engine.connect(container: me.id, to: network)
            } catch let error as DockerEngineError where error.status == 403 && error.message.contains("already exists") {
                continue
            }
            logger.info("joined the sandbox network", metadata: ["network": "\(network)", "container": "\(name)"])
        }
    }

    /// The id of the Docker container this process runs in, from the bind mounts the engine
    /// makes for `/etc/hostname` (`/var/lib/docker/containers/<id>/hostname`); nil outside one.
    static func ownContainerId(mountInfo: String? = nil) -> String? {
        let text = mountInfo ?? ((try? Syscall.readFile("/proc/self/mountinfo", limit: 1 << 20)).map { String(decoding: $0, as: UTF8.self) } ?? "")
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count > 4, fields[4] == "/etc/hostname" else { continue }
            let root = fields[3].split(separator: "/")
            if let index = root.firstIndex(of: "containers"), index + 1 < root.count {
                let id = root[index + 1]
                if id.count == 64, id.allSatisfy(\.isHexDigit) { return String(id) }
            }
        }
        return nil
    }
}
