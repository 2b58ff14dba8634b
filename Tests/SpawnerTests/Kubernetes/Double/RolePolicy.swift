import Foundation
import Yams

/// The RBAC rules of one Role (read from `deploy/kubernetes/`), applied as the API server
/// applies them to the subject the RoleBinding names: a request is allowed when a rule of the
/// Role covers its API group, resource (with subresource) and verb, in the Role's namespace.
/// Nothing is allowed elsewhere: the Role grants no cluster-wide rights.
struct RolePolicy: Sendable {
    struct Rule: Sendable, Equatable {
        var apiGroups: [String]
        var resources: [String]
        var verbs: [String]
    }

    let namespace: String
    let rules: [Rule]

    /// A permission: `create pods`.
    struct Permission: Hashable, Sendable, Comparable, CustomStringConvertible {
        var verb: String
        var resource: String
        var description: String { "\(verb) \(resource)" }
        static func < (a: Permission, b: Permission) -> Bool { (a.resource, a.verb) < (b.resource, b.verb) }
    }

    func allows(verb: String, apiGroup: String, resource: String, namespace: String?) -> Bool {
        guard namespace == self.namespace else { return false }
        return rules.contains { rule in
            (rule.apiGroups.contains(apiGroup) || rule.apiGroups.contains("*")) && (rule.resources.contains(resource) || rule.resources.contains("*"))
                && (rule.verbs.contains(verb) || rule.verbs.contains("*"))
        }
    }

    /// Every (verb, resource) the rules grant, for the least-privilege check.
    var grants: Set<Permission> {
        Set(rules.flatMap { rule in rule.resources.flatMap { resource in rule.verbs.map { Permission(verb: $0, resource: resource) } } })
    }

    /// The Role named `roleName` among the YAML documents of `path`.
    static func load(path: String, roleName: String) throws -> RolePolicy {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        for document in try Yams.load_all(yaml: text) {
            guard let object = document as? [String: Any], object["kind"] as? String == "Role",
                let metadata = object["metadata"] as? [String: Any], metadata["name"] as? String == roleName
            else { continue }
            let rules = (object["rules"] as? [[String: Any]] ?? []).map { rule in
                Rule(
                    apiGroups: rule["apiGroups"] as? [String] ?? [], resources: rule["resources"] as? [String] ?? [],
                    verbs: rule["verbs"] as? [String] ?? [])
            }
            return RolePolicy(namespace: metadata["namespace"] as? String ?? "", rules: rules)
        }
        throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: "no Role \(roleName) in \(path)"])
    }
}
