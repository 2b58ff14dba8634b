/// The images a create may name (`image` in `POST /v1/sessions`) on a container backend: the
/// backend's own image and those the operator lists (`SPAWNER_DOCKER_IMAGES`,
/// `SPAWNER_K8S_IMAGES`: comma-separated references). A sandbox image's entrypoint is the
/// sandbox's PID 1, running as root before any of runnerd's hardening, so a client must not
/// pick an arbitrary one (on Kubernetes, one the kubelet would pull from anywhere).
public struct ImageAllowList: Equatable, Sendable {
    /// The listed images, beside the backend's own.
    public var listed: Set<String> = []
    /// The variable that lists them (named in refusals).
    public let variable: String

    public init(variable: String, listed: Set<String> = []) {
        self.variable = variable
        self.listed = listed
    }

    /// Reads `variable` from the environment: references separated by commas (spaces around
    /// them are dropped, empty entries ignored); one with a space or a control character inside
    /// is a configuration error.
    public static func resolve(_ variable: String, environment: [String: String]) throws(SpawnerConfig.Invalid) -> ImageAllowList {
        var list = ImageAllowList(variable: variable)
        for entry in (environment[variable] ?? "").split(separator: ",") {
            let image = entry.trimmingSpaces()
            guard !image.isEmpty else { continue }
            guard image.utf8.allSatisfy({ $0 > 0x20 && $0 != 0x7F }) else {
                throw SpawnerConfig.Invalid("\(variable) holds image references separated by commas, got \(entry)")
            }
            list.listed.insert(image)
        }
        return list
    }

    /// Why a create may not name `image` when the backend's own is `own`; nil when it may.
    public func problem(_ image: String, own: String) -> String? {
        image == own || listed.contains(image) ? nil : "image \(image) is not allowed here (the backend's image, or one listed in \(variable))"
    }
}

extension Substring {
    /// Without the spaces at either end.
    fileprivate func trimmingSpaces() -> String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
