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
        var merged: [String: String] = [:]
        var order: [String] = []
        func put(_ name: String, _ value: String) {
            if merged.updateValue(value, forKey: name) == nil { order.append(name) }
        }
        for entry in base {
            guard let equals = entry.utf8.firstIndex(of: UInt8(ascii: "=")) else { continue }
            put(String(entry[..<equals]), String(entry[entry.index(after: equals)...]))
        }
        for (name, value) in entries.sorted(by: { $0.key < $1.key }) { put(name, value) }
        for (name, value) in (request ?? [:]).sorted(by: { $0.key < $1.key }) where EnvPolicy.isAllowed(name) {
            put(name, value)
        }
        return order.map { "\($0)=\(merged[$0]!)" }
    }
}
