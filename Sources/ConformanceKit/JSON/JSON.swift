/// A JSON value as the conformance kit sees it: its own model (no server code), keeping
/// whether a number was written as an integer and its exact value when it fits 64 bits.
public indirect enum JSON: Equatable, Sendable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSON])
    case object([String: JSON])

    public subscript(key: String) -> JSON? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    public var string: String? { if case .string(let s) = self { s } else { nil } }
    public var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
    public var array: [JSON]? { if case .array(let a) = self { a } else { nil } }
    public var object: [String: JSON]? { if case .object(let o) = self { o } else { nil } }
    public var int: Int64? { if case .number(let n) = self { n.int64 } else { nil } }
    public var uint: UInt64? { if case .number(let n) = self { n.uint64 } else { nil } }
    public var isNull: Bool { self == .null }

    public var description: String { JSONWriter.text(self) }

    /// The JSON type name (as JSON Schema's `type` calls it; `integer` for a whole number).
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number(let n): n.isInteger ? "integer" : "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}

/// A number: its text, its value as a Double, and its exact value when it is a whole number
/// that fits 64 bits.
public struct JSONNumber: Equatable, Sendable {
    public let text: String
    public let double: Double
    public let int64: Int64?
    public let uint64: UInt64?

    public init(text: String) {
        self.text = text
        self.double = Double(text) ?? .nan
        self.int64 = Int64(text)
        self.uint64 = UInt64(text)
    }

    public init(_ value: Int64) { self.init(text: String(value)) }

    /// Draft 2020-12: any number with a zero fractional part is an integer.
    public var isInteger: Bool { int64 != nil || uint64 != nil || (double.isFinite && double.rounded() == double) }

    public static func == (a: JSONNumber, b: JSONNumber) -> Bool {
        if let x = a.int64, let y = b.int64 { return x == y }
        if let x = a.uint64, let y = b.uint64 { return x == y }
        return a.double == b.double
    }
}

extension JSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .number(JSONNumber(value)) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSON...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSON)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    public init(nilLiteral: ()) { self = .null }

    public static func integer(_ value: some BinaryInteger) -> JSON { .number(JSONNumber(text: String(value))) }
}
