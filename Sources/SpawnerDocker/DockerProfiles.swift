import RunnerProtocol
import SpawnerCore

/// What a session's `profile` names for the docker backend: the resources its container gets
/// and whether it may reach the outside network.
///
/// Profiles come from the JSON file `SPAWNER_DOCKER_PROFILES`, an object of named profiles:
///
///     {"default": {"memoryMiB": 2048, "cpus": 1, "pids": 1024, "tmpMiB": 512},
///      "web":     {"memoryMiB": 4096, "cpus": 2, "egress": true}}
///
/// A field left out takes the built-in default's value. Without a file there is one profile,
/// `default`, with the values below.
public struct DockerProfile: Codable, Equatable, Sendable {
    /// Memory limit (swap included: the sandbox gets no swap).
    public var memoryMiB: Int
    /// CPU time, in CPUs (0.5 is half of one).
    public var cpus: Double
    /// Most processes and threads at once.
    public var pids: Int
    /// Size of the tmpfs on /tmp (it counts against the memory limit).
    public var tmpMiB: Int
    /// The sandbox has a route to the outside; without it, it reaches nothing but the spawner.
    public var egress: Bool
    /// The image's root filesystem is mounted read-only (the workspace, /tmp and runnerd's
    /// state stay writable). Off only for images whose agents must write elsewhere.
    public var readOnlyRootfs: Bool

    public static let builtIn = DockerProfile(memoryMiB: 2048, cpus: 1, pids: 1024, tmpMiB: 512, egress: false, readOnlyRootfs: true)

    public init(memoryMiB: Int, cpus: Double, pids: Int, tmpMiB: Int, egress: Bool, readOnlyRootfs: Bool) {
        self.memoryMiB = memoryMiB
        self.cpus = cpus
        self.pids = pids
        self.tmpMiB = tmpMiB
        self.egress = egress
        self.readOnlyRootfs = readOnlyRootfs
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let base = Self.builtIn
        memoryMiB = try container.decodeIfPresent(Int.self, forKey: .memoryMiB) ?? base.memoryMiB
        cpus = try container.decodeIfPresent(Double.self, forKey: .cpus) ?? base.cpus
        pids = try container.decodeIfPresent(Int.self, forKey: .pids) ?? base.pids
        tmpMiB = try container.decodeIfPresent(Int.self, forKey: .tmpMiB) ?? base.tmpMiB
        egress = try container.decodeIfPresent(Bool.self, forKey: .egress) ?? base.egress
        readOnlyRootfs = try container.decodeIfPresent(Bool.self, forKey: .readOnlyRootfs) ?? base.readOnlyRootfs
    }

    /// What is wrong with the values, if anything.
    public var problem: String? {
        if memoryMiB < 64 || memoryMiB > 1 << 20 { return "memoryMiB must be 64...1048576" }
        if !(cpus >= 0.01 && cpus <= 1024) { return "cpus must be 0.01...1024" }
        if pids < 16 || pids > 1 << 22 { return "pids must be 16...4194304" }
        if tmpMiB < 1 || tmpMiB > memoryMiB { return "tmpMiB must be 1...memoryMiB" }
        return nil
    }
}

/// The named profiles a session may ask for.
public struct DockerProfiles: Equatable, Sendable {
    public var byName: [String: DockerProfile]
    public static let defaultName = "default"

    public init(_ byName: [String: DockerProfile] = [Self.defaultName: .builtIn]) {
        self.byName = byName
    }

    public subscript(name: String) -> DockerProfile? { byName[name] }

    /// Whether any profile opts into egress.
    public var anyEgress: Bool { byName.values.contains(where: \.egress) }

    /// Parses the file's JSON; the `default` profile must be there (it is what a create without
    /// a profile gets) and every profile must be valid.
    public static func parse(_ bytes: [UInt8]) throws(SpawnerConfig.Invalid) -> DockerProfiles {
        let byName: [String: DockerProfile]
        do {
            byName = try WireJSON.decode([String: DockerProfile].self, from: bytes)
        } catch {
            throw SpawnerConfig.Invalid("SPAWNER_DOCKER_PROFILES is not a JSON object of profiles: \(error)")
        }
        guard byName[defaultName] != nil else { throw SpawnerConfig.Invalid("SPAWNER_DOCKER_PROFILES has no \"\(defaultName)\" profile") }
        for (name, profile) in byName.sorted(by: { $0.key < $1.key }) {
            guard Identifier.isValidSessionID(name) else { throw SpawnerConfig.Invalid("profile name \(name) must match [a-z0-9-]{1,63}") }
            if let problem = profile.problem { throw SpawnerConfig.Invalid("profile \(name): \(problem)") }
        }
        return DockerProfiles(byName)
    }
}
