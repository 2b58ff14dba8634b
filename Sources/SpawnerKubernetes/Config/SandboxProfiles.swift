import SpawnerCore
import Yams

/// What a session's `profile` means for its Pod: resources, the workspace volume, egress.
public struct SandboxProfile: Codable, Equatable, Sendable {
    /// Requests and limits of the runnerd container (`cpu`, `memory`, `ephemeral-storage`).
    public var resources: ResourceRequirements?
    /// A PersistentVolumeClaim for the workspace; nil: an `emptyDir` that ends with the Pod.
    public var workspace: WorkspaceClaim?
    /// `sizeLimit` of the `emptyDir` workspace (when there is no claim).
    public var emptyDirSizeLimit: String?
    /// Sandboxes of this profile carry the label that the NetworkPolicy `sandbox-egress`
    /// selects: egress allowed. Default: no egress at all.
    public var egress: Bool?
    public var nodeSelector: [String: String]?

    public struct WorkspaceClaim: Codable, Equatable, Sendable {
        /// nil: the cluster's default storage class.
        public var storageClassName: String?
        /// A quantity: `10Gi`.
        public var size: String
        /// Keep the claim when the session ends (no owner reference to the Pod); a session
        /// created again with the same id gets it back.
        public var keep: Bool?

        public init(storageClassName: String?, size: String, keep: Bool? = nil) {
            self.storageClassName = storageClassName
            self.size = size
            self.keep = keep
        }
    }

    public init(resources: ResourceRequirements? = nil, workspace: WorkspaceClaim? = nil, emptyDirSizeLimit: String? = nil, egress: Bool? = nil) {
        self.resources = resources
        self.workspace = workspace
        self.emptyDirSizeLimit = emptyDirSizeLimit
        self.egress = egress
    }
}

/// The profiles a spawner offers, from `SPAWNER_K8S_PROFILES` (YAML: `profiles: {name: ...}`),
/// else `builtIn`. Quantities are checked when the file is read, so a bad one stops the
/// spawner at boot rather than failing every create.
public struct SandboxProfiles: Sendable, Equatable {
    public var profiles: [String: SandboxProfile]

    public init(_ profiles: [String: SandboxProfile]) { self.profiles = profiles }

    /// `default`: a modest container and a 2 GiB scratch workspace.
    public static let builtIn = SandboxProfiles([
        "default": SandboxProfile(
            resources: ResourceRequirements(requests: ["cpu": "100m", "memory": "128Mi"], limits: ["cpu": "1", "memory": "1Gi"]),
            emptyDirSizeLimit: "2Gi")
    ])

    private struct File: Decodable {
        var profiles: [String: SandboxProfile]
    }

    public static func parse(yaml: String, source: String) throws -> SandboxProfiles {
        let file: File
        do {
            file = try YAMLDecoder().decode(File.self, from: yaml)
        } catch {
            throw KubernetesConnection.Invalid("the profiles file \(source) is not valid: \(error)")
        }
        for (name, profile) in file.profiles {
            if let problem = profile.validationError() { throw KubernetesConnection.Invalid("profile \(name) in \(source): \(problem)") }
        }
        return SandboxProfiles(file.profiles)
    }

    /// The profile of that name, or an error listing the known ones.
    func profile(_ name: String) throws -> SandboxProfile {
        guard let profile = profiles[name] else {
            throw CreateFailure(.allocate, "unknown profile \(name) (known: \(profiles.keys.sorted().joined(separator: ", ")))")
        }
        return profile
    }
}

extension SandboxProfile {
    /// What is wrong with the profile, if anything.
    func validationError() -> String? {
        for (kind, map) in [("requests", resources?.requests), ("limits", resources?.limits)] {
            for (name, value) in map ?? [:] where !Quantity.isValid(value) {
                return "resources.\(kind).\(name) is not a quantity: \(value)"
            }
        }
        if let workspace, !Quantity.isValid(workspace.size) { return "workspace.size is not a quantity: \(workspace.size)" }
        if let limit = emptyDirSizeLimit, !Quantity.isValid(limit) { return "emptyDirSizeLimit is not a quantity: \(limit)" }
        return nil
    }
}

/// Kubernetes resource quantities (`500m`, `1.5Gi`, `2e3`).
enum Quantity {
    static func isValid(_ text: String) -> Bool {
        var rest = Substring(text)
        if rest.first == "+" || rest.first == "-" { rest = rest.dropFirst() }
        let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        guard !number.isEmpty, number.filter({ $0 == "." }).count <= 1, number != "." else { return false }
        let suffix = String(rest.dropFirst(number.count))
        if ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "k", "M", "G", "T", "P", "E"].contains(suffix) { return true }
        // Decimal exponent: e3, E-2.
        guard let first = suffix.first, first == "e" || first == "E" else { return false }
        var exponent = suffix.dropFirst()
        if exponent.first == "+" || exponent.first == "-" { exponent = exponent.dropFirst() }
        return !exponent.isEmpty && exponent.allSatisfy { $0.isASCII && $0.isNumber }
    }
}
