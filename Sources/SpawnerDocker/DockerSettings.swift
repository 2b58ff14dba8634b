import RunnerProtocol
import SpawnerCore

/// The docker backend's configuration (`SPAWNER_BACKEND=docker`), from the environment.
public struct DockerSettings: Equatable, Sendable {
    /// The engine's Unix socket (`DOCKER_HOST`, `unix://` only).
    public var socketPath = "/var/run/docker.sock"
    /// The sandbox image, runnerd as PID 1 (`SPAWNER_DOCKER_IMAGE`); never pulled.
    public var image = "runnerd-sandbox:local"
    /// Other images a create may name (`SPAWNER_DOCKER_IMAGES`); any other is refused (`400`).
    public var otherImages = ImageAllowList(variable: "SPAWNER_DOCKER_IMAGES")
    /// The user-defined bridge every sandbox without egress joins (`SPAWNER_DOCKER_NETWORK`),
    /// created `Internal` when missing. Sandboxes of a profile with egress join
    /// `<network>-egress` instead, the same but with a route out.
    public var network = "spawner-sandboxes"
    /// Whether sandboxes on one network may talk to each other (`SPAWNER_DOCKER_ICC`, default
    /// false). A spawner that itself runs in a container on a bridge network needs it on: it
    /// reaches sandboxes over the same bridge.
    public var interContainerTraffic = false
    /// Workspace volumes outlive their session (`SPAWNER_DOCKER_KEEP_WORKSPACES`): a session
    /// created again under the same id finds its files.
    public var keepWorkspaces = false
    /// Which sandboxes are this spawner's (label `spawner.scope`): listing, adoption and
    /// cleanup never touch another scope's. `SPAWNER_DOCKER_SCOPE`, or by default a
    /// fingerprint of the HMAC secret (spawners that share the secret share the sessions).
    public var scope: String
    /// The container this spawner runs in, if any (`SPAWNER_DOCKER_SELF`: an id or name, or
    /// `none`); found from `/proc/self/mountinfo` when not given. It joins the sandbox networks.
    public var selfContainer: SelfContainer = .detect
    /// runnerd's port in the sandbox image.
    public var runnerdPort = 8200
    /// The profiles a session may name (`SPAWNER_DOCKER_PROFILES`, a JSON file; else only `default`).
    public var profiles = DockerProfiles()

    public enum SelfContainer: Equatable, Sendable {
        case detect
        case none
        case named(String)
    }

    public init(scope: String) {
        self.scope = scope
    }

    public var egressNetwork: String { network + "-egress" }

    /// The scope every spawner with this secret shares: 16 hex digits of a SHA-256 over a fixed
    /// prefix and the secret (one-way: the label reveals nothing usable about the secret).
    public static func defaultScope(secret: [UInt8]) -> String {
        String(Digest.sha256Hex(Array("spawner-docker-scope:".utf8) + secret).prefix(16))
    }

    /// Reads the settings from the environment; `readFile` reads the profiles file.
    public static func resolve(
        environment: [String: String], secret: [UInt8], readFile: (String) throws -> [UInt8] = { _ in [] }
    ) throws(SpawnerConfig.Invalid) -> DockerSettings {
        let scope = environment["SPAWNER_DOCKER_SCOPE"].flatMap { $0.isEmpty ? nil : $0 }
        var settings = DockerSettings(scope: scope ?? defaultScope(secret: secret))
        guard isName(settings.scope) else { throw SpawnerConfig.Invalid("SPAWNER_DOCKER_SCOPE must match [A-Za-z0-9_.-]{1,64}") }
        if let host = environment["DOCKER_HOST"], !host.isEmpty {
            guard host.hasPrefix("unix://"), host.count > "unix://".count else {
                throw SpawnerConfig.Invalid("DOCKER_HOST must be unix:///path/to/docker.sock (the docker backend speaks to a local socket only), got \(host)")
            }
            settings.socketPath = String(host.dropFirst("unix://".count))
        }
        if let image = environment["SPAWNER_DOCKER_IMAGE"], !image.isEmpty { settings.image = image }
        settings.otherImages = try ImageAllowList.resolve("SPAWNER_DOCKER_IMAGES", environment: environment)
        if let network = environment["SPAWNER_DOCKER_NETWORK"], !network.isEmpty {
            guard isName(network) else { throw SpawnerConfig.Invalid("SPAWNER_DOCKER_NETWORK must match [A-Za-z0-9_.-]{1,64}, got \(network)") }
            settings.network = network
        }
        settings.interContainerTraffic = try flag(environment, "SPAWNER_DOCKER_ICC", default: false)
        settings.keepWorkspaces = try flag(environment, "SPAWNER_DOCKER_KEEP_WORKSPACES", default: false)
        switch environment["SPAWNER_DOCKER_SELF"] {
        case nil, "": settings.selfContainer = .detect
        case "none": settings.selfContainer = .none
        case let name?:
            guard isName(name) else { throw SpawnerConfig.Invalid("SPAWNER_DOCKER_SELF must be a container id or name, or none") }
            settings.selfContainer = .named(name)
        }
        if let file = environment["SPAWNER_DOCKER_PROFILES"], !file.isEmpty {
            let bytes: [UInt8]
            do {
                bytes = try readFile(file)
            } catch {
                throw SpawnerConfig.Invalid("cannot read SPAWNER_DOCKER_PROFILES \(file): \(error)")
            }
            settings.profiles = try DockerProfiles.parse(bytes)
        }
        return settings
    }

    private static func flag(_ environment: [String: String], _ name: String, default value: Bool) throws(SpawnerConfig.Invalid) -> Bool {
        switch environment[name]?.lowercased() {
        case nil, "": return value
        case "1", "true", "on", "yes": return true
        case "0", "false", "off", "no": return false
        case let other?: throw SpawnerConfig.Invalid("\(name) must be true or false, got \(other)")
        }
    }

    /// Docker object names and label values this backend accepts from configuration.
    static func isName(_ text: String) -> Bool {
        (1...64).contains(text.utf8.count)
            && text.utf8.allSatisfy { byte in
                (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                    || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
                    || byte == UInt8(ascii: "-")
            }
    }
}
