import RunnerProtocol
import SpawnerCore

/// The names of a session's objects. A session id (`[a-z0-9-]{1,63}`) names its Pod as it is;
/// one that is no DNS label (a leading or trailing `-`) cannot name a Pod and is refused.
enum ObjectNames {
    static func pod(_ sessionId: String) -> String { sessionId }
    static func secret(_ sessionId: String) -> String { sessionId + "-runnerd-token" }
    static func workspace(_ sessionId: String) -> String { sessionId + "-workspace" }

    /// RFC 1123 label: `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 characters.
    static func isDNSLabel(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...63).contains(bytes.count), let first = bytes.first, let last = bytes.last else { return false }
        func alphanumeric(_ byte: UInt8) -> Bool { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
        return alphanumeric(first) && alphanumeric(last) && bytes.allSatisfy { alphanumeric($0) || $0 == UInt8(ascii: "-") }
    }
}

/// Labels (for selection: the spawner's list, the NetworkPolicy) and annotations (the
/// session's facts, the truth a restarted spawner re-adopts from) of a session's objects.
/// Neither ever holds the runnerd token.
enum SandboxMetadata {
    static let prefix = "spawner.runnerd.dev/"

    static let managedByKey = "app.kubernetes.io/managed-by"
    static let managedBy = "spawner"
    static let componentKey = "app.kubernetes.io/component"
    static let component = "sandbox"
    static let sessionKey = prefix + "session"
    static let ownerKindKey = prefix + "owner-kind"
    static let ownerIdKey = prefix + "owner-id"
    static let orgKey = prefix + "org"
    static let profileKey = prefix + "profile"
    /// Set (to `allowed`) on Pods whose profile opts into egress; the NetworkPolicy
    /// `sandbox-egress` selects it.
    static let egressKey = prefix + "egress"
    /// The uid (and gid) of the session's agents (`SessionLabels.agentUID`, also in the
    /// labels annotation, which re-adoption reads).
    static let agentUIDKey = "spawner.runnerd.dev/agent-uid"

    /// The session's `SessionLabels` as JSON.
    static let labelsAnnotation = prefix + "labels"
    static let createdAtAnnotation = prefix + "created-at-ms"
    static let expiresAtAnnotation = prefix + "expires-at-ms"
    /// A random value per create: recognises this create's objects (a retried POST whose
    /// first answer was lost, a cleanup after a failure) among same-named ones.
    static let createIdAnnotation = prefix + "create-id"
    /// The session's nonce (contract §4), also inside the labels annotation; shown on its own
    /// for operators, and must agree with it.
    static let nonceAnnotation = prefix + "nonce"
    /// On a workspace claim that outlives its session.
    static let keepAnnotation = prefix + "keep"

    /// Selects every sandbox Pod this backend manages.
    static let selector = "\(managedByKey)=\(managedBy),\(componentKey)=\(component)"

    static func labels(_ session: SessionLabels, egress: Bool) -> [String: String] {
        var labels = [managedByKey: managedBy, componentKey: component, sessionKey: session.sessionId]
        // Free-form values are labels only when they are valid label values; the annotation
        // always has them.
        for (key, value) in [(ownerKindKey, session.owner.kind), (ownerIdKey, session.owner.id), (orgKey, session.orgId), (profileKey, session.profile)]
        where isLabelValue(value) {
            labels[key] = value
        }
        if egress { labels[egressKey] = "allowed" }
        if let uid = session.agentUID { labels[agentUIDKey] = String(uid) }
        return labels
    }

    static func annotations(_ session: SessionLabels, createId: String) -> [String: String] {
        var annotations = [
            labelsAnnotation: String(decoding: (try? WireJSON.encode(session)) ?? [], as: UTF8.self),
            createdAtAnnotation: String(session.createdAtMs),
            expiresAtAnnotation: String(session.expiresAtMs),
            createIdAnnotation: createId,
        ]
        if let nonce = session.nonce { annotations[nonceAnnotation] = nonce }
        return annotations
    }

    /// The session's facts, from an object this backend made; nil for any other object.
    static func session(of metadata: ObjectMeta) -> SessionLabels? {
        guard metadata.labels?[managedByKey] == managedBy, let json = metadata.annotations?[labelsAnnotation],
            let session = try? WireJSON.decode(SessionLabels.self, from: Array(json.utf8)),
            metadata.labels?[sessionKey] == session.sessionId, metadata.annotations?[nonceAnnotation] == session.nonce
        else { return nil }
        return session
    }

    /// Whether `metadata` is this backend's object for `sessionId`.
    static func isManaged(_ metadata: ObjectMeta, sessionId: String) -> Bool {
        metadata.labels?[managedByKey] == managedBy && metadata.labels?[sessionKey] == sessionId
    }

    /// `(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?`, at most 63 characters.
    static func isLabelValue(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        guard bytes.count <= 63 else { return false }
        guard let first = bytes.first, let last = bytes.last else { return true }
        func alphanumeric(_ byte: UInt8) -> Bool {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        }
        return alphanumeric(first) && alphanumeric(last)
            && bytes.allSatisfy { alphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }
    }
}
