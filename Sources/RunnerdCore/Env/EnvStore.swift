import RunnerProtocol

/// The session env store: names and values every exec gets on top of runnerd's own environment.
///
/// Denied names (`EnvPolicy`) are never stored; a patch that would break a cap (entry count,
/// value size) is refused whole, so the store never holds a partial patch.
public struct EnvStore: Sendable {
    public private(set) var entries: [String: String] = [:]
    public let maxEntries: Int
    public let maxValueBytes: Int

    public enum PatchError: Error, Equatable, Sendable {
        case tooManyEntries(Int)
        case valueTooLarge(String)
        case malformedName(String)
        case malformedValue(String)

        public var message: String {
            switch self {
            case .tooManyEntries(let max): "env store holds at most \(max) entries"
            case .valueTooLarge(let name): "value of \(name) exceeds \(Limits.envMaxValueBytes) bytes"
            case .malformedName(let name): "\(name.isEmpty ? "an empty name" : name) is not a valid environment variable name"
            case .malformedValue(let name): "value of \(name) contains a NUL byte"
            }
        }
    }

    public init(maxEntries: Int = Limits.envMaxEntries, maxValueBytes: Int = Limits.envMaxValueBytes) {
        self.maxEntries = maxEntries
        self.maxValueBytes = maxValueBytes
    }

    /// Applies `unset` then `set`; returns the denied names (sorted).
    public mutating func apply(_ patch: EnvPatch) throws(PatchError) -> [String] {
        var next = entries
        var denied: [String] = []
        for name in patch.unset ?? [] {
            if EnvPolicy.isDenied(name) { denied.append(name) } else { next.removeValue(forKey: name) }
        }
        for (name, value) in patch.set ?? [:] {
            guard EnvPolicy.isWellFormedName(name) else { throw .malformedName(name) }
            if EnvPolicy.isDenied(name) {
                denied.append(name)
                continue
            }
            guard !value.utf8.contains(0) else { throw .malformedValue(name) }
            guard value.utf8.count <= maxValueBytes else { throw .valueTooLarge(name) }
            next[name] = value
        }
        guard next.count <= maxEntries else { throw .tooManyEntries(maxEntries) }
        entries = next
        return Array(Set(denied)).sorted()
    }

    /// A child's environment: `base` (runnerd's own, token removed) overlaid by the store,
    /// overlaid by the request's `env`; denied names in either overlay are ignored.
    public func childEnvironment(base: [String], request: [String: String]?) -> [String] {
        template(base: base).overlay(request)
    }

    /// `base` overlaid by the store, for many `overlay`s: build it once per store change.
    public func template(base: [String]) -> EnvironmentTemplate {
        var template = EnvironmentTemplate()
        for entry in base {
            guard let equals = entry.utf8.firstIndex(of: UInt8(ascii: "=")) else { continue }
            template.put(String(entry[..<equals]), entry)
        }
        for (name, value) in entries.sorted(by: { $0.key < $1.key }) { template.put(name, "\(name)=\(value)") }
        return template
    }
}

/// A merged environment (`NAME=value` entries, first-seen order) with its name index, so a
/// request's few variables are overlaid without re-parsing the rest.
public struct EnvironmentTemplate: Sendable {
    public private(set) var entries: [String] = []
    private var index: [String: Int] = [:]

    mutating func put(_ name: String, _ entry: String) {
        if let position = index[name] {
            entries[position] = entry
        } else {
            index[name] = entries.count
            entries.append(entry)
        }
    }

    /// The entries overlaid by a request's `env` (denied names ignored).
    public func overlay(_ request: [String: String]?) -> [String] {
        guard let request, !request.isEmpty else { return entries }
        var merged = self
        for (name, value) in request.sorted(by: { $0.key < $1.key }) where EnvPolicy.isAllowed(name) {
            merged.put(name, "\(name)=\(value)")
        }
        return merged.entries
    }
}
