/// A JSON Schema (draft 2020-12) validator for the keywords the contract's schemas use:
/// `type`, `properties`, `required`, `additionalProperties`, `items`, `enum`, `const`,
/// `minimum`/`maximum`, `minLength`/`maxLength`, `minItems`/`maxItems`, `pattern` (the
/// anchored character-class patterns of `SchemaPattern`), `oneOf`/`anyOf`/`allOf`/`not`,
/// `$ref`/`$defs` (within a document and across the registry's documents). Annotations
/// (`title`, `description`, `$comment`, `examples`, `format`) are ignored.
///
/// `strict` treats a property that a schema with `properties` does not declare as an error
/// (where the schema says nothing about additional properties): the unit test uses it so
/// that a field the code adds must be added to the schema too.
public struct SchemaValidator: Sendable {
    public let registry: SchemaRegistry
    public let strict: Bool

    public init(registry: SchemaRegistry, strict: Bool = false) {
        self.registry = registry
        self.strict = strict
    }

    public struct Violation: Error, CustomStringConvertible, Sendable {
        public let path: String
        public let message: String
        public var description: String { "\(path.isEmpty ? "$" : path): \(message)" }
    }

    /// Validates `instance` against `ref` (`"runnerd.schema.json#/$defs/ExecEvent"`, or a def
    /// name `"ExecEvent"` looked up in `document`); the first violation found, if any.
    public func validate(_ instance: JSON, against ref: String, document: String = "runnerd.schema.json") -> Violation? {
        let full = ref.contains("#") || ref.hasSuffix(".json") ? ref : "\(document)#/$defs/\(ref)"
        do {
            let (schema, doc) = try registry.resolve(full, from: document)
            try check(instance, schema, doc: doc, path: "")
            return nil
        } catch let violation as Violation {
            return violation
        } catch {
            return Violation(path: "", message: "\(error)")
        }
    }

    private func check(_ value: JSON, _ schema: JSON, doc: String, path: String) throws {
        if case .bool(let allowed) = schema {
            if !allowed { throw Violation(path: path, message: "no value is allowed here") }
            return
        }
        guard case .object(let s) = schema else { throw Violation(path: path, message: "schema is not an object") }

        if let ref = s["$ref"]?.string {
            let (target, targetDoc) = try registry.resolve(ref, from: doc)
            try check(value, target, doc: targetDoc, path: path)
        }
        if let type = s["type"] {
            let allowed = type.array?.compactMap(\.string) ?? [type.string].compactMap { $0 }
            let actual = value.typeName
            let ok = allowed.contains(actual) || (actual == "integer" && allowed.contains("number"))
            if !ok { throw Violation(path: path, message: "expected \(allowed.joined(separator: " or ")), got \(actual) \(short(value))") }
        }
        if let constant = s["const"], constant != value {
            throw Violation(path: path, message: "expected \(constant), got \(short(value))")
        }
        if let options = s["enum"]?.array, !options.contains(value) {
            throw Violation(path: path, message: "\(short(value)) is not one of \(JSON.array(options))")
        }
        if case .number(let n) = value {
            if let min = s["minimum"], case .number(let m) = min, less(n, m) {
                throw Violation(path: path, message: "\(n.text) is below the minimum \(m.text)")
            }
            if let max = s["maximum"], case .number(let m) = max, less(m, n) {
                throw Violation(path: path, message: "\(n.text) is above the maximum \(m.text)")
            }
        }
        if case .string(let text) = value {
            let length = text.unicodeScalars.count
            if let min = s["minLength"]?.int, length < Int(min) { throw Violation(path: path, message: "shorter than \(min) characters") }
            if let max = s["maxLength"]?.int, length > Int(max) { throw Violation(path: path, message: "longer than \(max) characters") }
            if let pattern = s["pattern"]?.string {
                guard let compiled = SchemaPattern(pattern) else {
                    throw Violation(path: path, message: "the validator cannot evaluate the pattern \(pattern)")
                }
                if !compiled.matches(text) { throw Violation(path: path, message: "\(short(value)) does not match \(pattern)") }
            }
        }
        if case .array(let items) = value {
            if let min = s["minItems"]?.int, items.count < Int(min) { throw Violation(path: path, message: "fewer than \(min) items") }
            if let max = s["maxItems"]?.int, items.count > Int(max) { throw Violation(path: path, message: "more than \(max) items") }
            if let itemSchema = s["items"] {
                for (i, item) in items.enumerated() { try check(item, itemSchema, doc: doc, path: "\(path)[\(i)]") }
            }
        }
        if case .object(let members) = value {
            let declared = s["properties"]?.object ?? [:]
            for (name, member) in members.sorted(by: { $0.key < $1.key }) {
                if let propertySchema = declared[name] {
                    try check(member, propertySchema, doc: doc, path: "\(path).\(name)")
                } else if let additional = s["additionalProperties"] {
                    if additional == .bool(false) { throw Violation(path: path, message: "property \(name) is not allowed") }
                    try check(member, additional, doc: doc, path: "\(path).\(name)")
                } else if strict, s["properties"] != nil, s["type"] == .string("object") {
                    throw Violation(path: path, message: "property \(name) is not declared by the schema")
                }
            }
            // After the properties: in a oneOf, the branch whose discriminator (a const
            // property) does not match fails on it, not on a property it would require.
            for name in s["required"]?.array?.compactMap(\.string) ?? [] where members[name] == nil {
                throw Violation(path: path, message: "missing required property \(name)")
            }
        }
        if let negated = s["not"] {
            var matched = true
            do { try check(value, negated, doc: doc, path: path) } catch { matched = false }
            if matched { throw Violation(path: path, message: "matches a schema it must not (not)") }
        }
        if let all = s["allOf"]?.array {
            for sub in all { try check(value, sub, doc: doc, path: path) }
        }
        if let any = s["anyOf"]?.array {
            var reasons: [String] = []
            var matched = false
            for sub in any {
                do { try check(value, sub, doc: doc, path: path); matched = true; break } catch { reasons.append("\(error)") }
            }
            if !matched { throw Violation(path: path, message: "matches none of anyOf (\(reasons.joined(separator: "; ")))") }
        }
        if let one = s["oneOf"]?.array {
            var matches = 0
            var reasons: [String] = []
            for sub in one {
                do { try check(value, sub, doc: doc, path: path); matches += 1 } catch { reasons.append("\(error)") }
            }
            if matches == 0 {
                throw Violation(path: path, message: "matches none of oneOf: \(best(reasons))")
            }
            if matches > 1 { throw Violation(path: path, message: "matches \(matches) branches of oneOf, expected exactly one") }
        }
    }

    /// Of the reasons the branches of a oneOf failed, the one that got deepest (usually the
    /// branch meant: the discriminator matched and something inside did not).
    private func best(_ reasons: [String]) -> String {
        let informative = reasons.filter { !$0.contains("expected \"") }
        return (informative.first ?? reasons.first) ?? "no branch"
    }

    private func less(_ a: JSONNumber, _ b: JSONNumber) -> Bool {
        if let x = a.int64, let y = b.int64 { return x < y }
        if let x = a.uint64, let y = b.uint64 { return x < y }
        if let x = a.int64, b.uint64 != nil { return x < 0 || UInt64(x) < b.uint64! }
        if a.uint64 != nil, let y = b.int64 { return y >= 0 && a.uint64! < UInt64(y) }
        return a.double < b.double
    }

    private func short(_ value: JSON) -> String {
        let text = value.description
        return text.count > 80 ? String(text.prefix(77)) + "..." : text
    }
}
