import RunnerProtocol

/// Reading and editing the API double's objects by their real JSON field names (the double
/// never uses the backend's models, so a misnamed field there shows up as a test failure).
extension JSONValue {
    subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { object[key] } else { nil }
    }

    subscript(index: Int) -> JSONValue? {
        if case .array(let array) = self, array.indices.contains(index) { array[index] } else { nil }
    }

    var string: String? { if case .string(let value) = self { value } else { nil } }
    var int: Int? { if case .number(let value) = self, value == value.rounded() { Int(value) } else { nil } }
    var bool: Bool? { if case .bool(let value) = self { value } else { nil } }
    var array: [JSONValue]? { if case .array(let value) = self { value } else { nil } }
    var object: [String: JSONValue]? { if case .object(let value) = self { value } else { nil } }

    /// `metadata.labels` and the like as a string map.
    var stringMap: [String: String] { object?.compactMapValues(\.string) ?? [:] }

    /// Sets (or with nil removes) the value at `path`, making objects on the way.
    mutating func set(_ path: [String], _ value: JSONValue?) {
        guard let key = path.first else {
            self = value ?? .null
            return
        }
        var object = self.object ?? [:]
        if path.count == 1 {
            object[key] = value
        } else {
            var child = object[key] ?? .object([:])
            child.set(Array(path.dropFirst()), value)
            object[key] = child
        }
        self = .object(object)
    }

    static func from(_ strings: [String: String]) -> JSONValue { .object(strings.mapValues { .string($0) }) }

    static func parse(_ bytes: some Collection<UInt8>) -> JSONValue? { try? WireJSON.decode(JSONValue.self, from: bytes) }

    var bytes: [UInt8] { (try? WireJSON.encode(self)) ?? [] }
}
