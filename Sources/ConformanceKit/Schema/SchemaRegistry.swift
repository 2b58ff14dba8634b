/// The schema documents by file name (`runnerd.schema.json`, `spawner.schema.json`), and
/// `$ref` resolution: `#/$defs/X` within a document, `other.schema.json#/$defs/X` across.
public struct SchemaRegistry: Sendable {
    public let documents: [String: JSON]

    public init(documents: [String: JSON]) { self.documents = documents }

    /// The schemas built into the binary (docs/schemas, embedded at build time).
    public static let embedded: SchemaRegistry = {
        var documents: [String: JSON] = [:]
        for (name, bytes) in EmbeddedSchemas.files {
            do {
                documents[name] = try JSONParser.parse(bytes)
            } catch {
                fatalError("embedded schema \(name) does not parse: \(error)")
            }
        }
        return SchemaRegistry(documents: documents)
    }()

    /// Schemas read from a directory instead (`--schemas DIR`).
    public static func load(directory: String, read: (String) throws -> [UInt8]) throws -> SchemaRegistry {
        var documents: [String: JSON] = [:]
        for name in EmbeddedSchemas.files.map(\.0) {
            documents[name] = try JSONParser.parse(try read(directory + "/" + name))
        }
        return SchemaRegistry(documents: documents)
    }

    public struct Unresolved: Error, CustomStringConvertible, Sendable {
        public let ref: String
        public var description: String { "cannot resolve $ref \(ref)" }
    }

    /// The schema a `$ref` names, and the document it lives in.
    public func resolve(_ ref: String, from document: String) throws -> (JSON, String) {
        let parts = ref.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)
        var docName = document
        if let file = parts.first, !file.isEmpty {
            docName = String(file.split(separator: "/").last ?? file[...])
        }
        guard var node = documents[docName] else { throw Unresolved(ref: ref) }
        let pointer = parts.count > 1 ? String(parts[1]) : ""
        for token in pointer.split(separator: "/") {
            let key = String(token).replacing("~1", with: "/").replacing("~0", with: "~")
            if let next = node[key] {
                node = next
            } else if let index = Int(key), let items = node.array, index < items.count {
                node = items[index]
            } else {
                throw Unresolved(ref: ref)
            }
        }
        return (node, docName)
    }
}

