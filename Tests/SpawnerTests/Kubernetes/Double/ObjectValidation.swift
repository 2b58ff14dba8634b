import RunnerProtocol

/// The API server's checks of a new object that the backend could get wrong: names, labels,
/// owner references, quantities, volume references, file modes. A failure is a `422 Invalid`
/// with one cause per field, as the real server answers.
enum ObjectValidation {
    struct Cause: Sendable {
        let field: String
        let message: String
    }

    static func validate(_ object: JSONValue, resource: String) -> [Cause] {
        var causes: [Cause] = []
        func fail(_ field: String, _ message: String) { causes.append(Cause(field: field, message: message)) }

        let expectedKind = ["pods": "Pod", "secrets": "Secret", "persistentvolumeclaims": "PersistentVolumeClaim"][resource]
        if object["kind"]?.string != expectedKind { fail("kind", "must be \(expectedKind ?? "?")") }
        if object["apiVersion"]?.string != "v1" { fail("apiVersion", "must be v1") }
        let name = object["metadata"]?["name"]?.string ?? ""
        if !isDNSSubdomain(name) { fail("metadata.name", "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'") }
        if resource == "pods", !isDNSLabel(name) { fail("metadata.name", "a Pod name must be a DNS label") }
        for (key, value) in object["metadata"]?["labels"]?.stringMap ?? [:] {
            if !isQualifiedName(key) { fail("metadata.labels", "invalid label key \(key)") }
            if !isLabelValue(value) { fail("metadata.labels", "invalid label value \(value)") }
        }
        let annotationBytes = (object["metadata"]?["annotations"]?.stringMap ?? [:]).reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count }
        if annotationBytes > 256 * 1024 { fail("metadata.annotations", "may not exceed 256 KiB") }
        for (index, reference) in (object["metadata"]?["ownerReferences"]?.array ?? []).enumerated() {
            for field in ["apiVersion", "kind", "name", "uid"] where (reference[field]?.string ?? "").isEmpty {
                fail("metadata.ownerReferences[\(index)].\(field)", "Required value")
            }
        }
        switch resource {
        case "pods": validatePod(object, fail)
        case "secrets":
            for (key, value) in object["data"]?.stringMap ?? [:] where Base64.decode(value) == nil {
                fail("data[\(key)]", "illegal base64 data")
            }
        case "persistentvolumeclaims":
            if (object["spec"]?["accessModes"]?.array ?? []).isEmpty { fail("spec.accessModes", "Required value") }
            let storage = object["spec"]?["resources"]?["requests"]?["storage"]?.string ?? ""
            if !isQuantity(storage) { fail("spec.resources.requests.storage", "must be a quantity") }
        default: break
        }
        return causes
    }

    private static func validatePod(_ pod: JSONValue, _ fail: (String, String) -> Void) {
        let spec = pod["spec"]
        let containers = spec?["containers"]?.array ?? []
        if containers.isEmpty { fail("spec.containers", "Required value") }
        var volumes: Set<String> = []
        for (index, volume) in (spec?["volumes"]?.array ?? []).enumerated() {
            let name = volume["name"]?.string ?? ""
            if !isDNSLabel(name) || !volumes.insert(name).inserted { fail("spec.volumes[\(index)].name", "invalid or duplicate") }
            let sources = ["secret", "persistentVolumeClaim", "emptyDir", "configMap"].filter { volume[$0] != nil }
            if sources.count != 1 { fail("spec.volumes[\(index)]", "must specify exactly one volume type") }
            for mode in [volume["secret"]?["defaultMode"]] + (volume["secret"]?["items"]?.array ?? []).map({ $0["mode"] }) {
                if let mode, !(0...0o777).contains(mode.int ?? -1) { fail("spec.volumes[\(index)].secret", "mode must be 0...0777") }
            }
            if let limit = volume["emptyDir"]?["sizeLimit"]?.string, !isQuantity(limit) { fail("spec.volumes[\(index)].emptyDir.sizeLimit", "must be a quantity") }
        }
        if let policy = spec?["restartPolicy"]?.string, !["Always", "OnFailure", "Never"].contains(policy) { fail("spec.restartPolicy", "Unsupported value") }
        for (index, container) in containers.enumerated() {
            let field = "spec.containers[\(index)]"
            if !isDNSLabel(container["name"]?.string ?? "") { fail(field + ".name", "must be a DNS label") }
            if (container["image"]?.string ?? "").isEmpty { fail(field + ".image", "Required value") }
            for mount in container["volumeMounts"]?.array ?? [] where !volumes.contains(mount["name"]?.string ?? "") {
                fail(field + ".volumeMounts", "not found: \(mount["name"]?.string ?? "")")
            }
            for kind in ["requests", "limits"] {
                for (name, value) in container["resources"]?[kind]?.stringMap ?? [:] where !isQuantity(value) {
                    fail(field + ".resources.\(kind).\(name)", "must be a quantity")
                }
            }
            let security = container["securityContext"]
            if security?["allowPrivilegeEscalation"]?.bool == false,
                security?["privileged"]?.bool == true || (security?["capabilities"]?["add"]?.array ?? []).contains(.string("SYS_ADMIN"))
            {
                fail(field + ".securityContext", "cannot set allowPrivilegeEscalation to false and privileged or CAP_SYS_ADMIN to true")
            }
        }
    }

    static func isDNSLabel(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...63).contains(bytes.count) else { return false }
        let alnum: (UInt8) -> Bool = { (97...122).contains($0) || (48...57).contains($0) }
        return alnum(bytes.first!) && alnum(bytes.last!) && bytes.allSatisfy { alnum($0) || $0 == 45 }
    }

    static func isDNSSubdomain(_ name: String) -> Bool {
        name.utf8.count <= 253 && !name.isEmpty && name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { isDNSLabel(String($0)) }
    }

    static func isLabelValue(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        guard bytes.count <= 63 else { return false }
        guard let first = bytes.first, let last = bytes.last else { return true }
        let alnum: (UInt8) -> Bool = { (97...122).contains($0) || (65...90).contains($0) || (48...57).contains($0) }
        return alnum(first) && alnum(last) && bytes.allSatisfy { alnum($0) || $0 == 45 || $0 == 95 || $0 == 46 }
    }

    static func isQualifiedName(_ key: String) -> Bool {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let name = parts.last, !name.isEmpty else { return false }
        if parts.count == 2, !isDNSSubdomain(String(parts[0])) { return false }
        return isLabelValue(String(name))
    }

    /// `^[+-]?(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$`, written out.
    static func isQuantity(_ text: String) -> Bool {
        var scalars = Substring(text)
        if let sign = scalars.first, sign == "+" || sign == "-" { scalars = scalars.dropFirst() }
        let digits = scalars.prefix { "0123456789.".contains($0) }
        guard digits.contains(where: \.isNumber), digits.filter({ $0 == "." }).count <= 1 else { return false }
        let suffix = String(scalars.dropFirst(digits.count))
        let suffixes: Set<String> = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "k", "M", "G", "T", "P", "E"]
        if suffixes.contains(suffix) { return true }
        guard suffix.first == "e" || suffix.first == "E" else { return false }
        var exponent = suffix.dropFirst()
        if let sign = exponent.first, sign == "+" || sign == "-" { exponent = exponent.dropFirst() }
        return !exponent.isEmpty && exponent.allSatisfy(\.isNumber)
    }
}
