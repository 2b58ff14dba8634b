import Foundation
import Logging
import SpawnerCore
import Testing

/// `docs/spawner-openapi.yaml` documents exactly the routes the server registers.
@Suite(.timeLimit(.minutes(1))) struct OpenAPIRouteTests {
    static var document: String {
        get throws {
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            return try String(contentsOf: root.appendingPathComponent("docs/spawner-openapi.yaml"), encoding: .utf8)
        }
    }

    /// `METHOD /path` of every operation under `paths:` (two-space path keys, four-space methods).
    static func documentedRoutes(_ yaml: String) -> Set<String> {
        let methods: Set<String> = ["get", "put", "post", "delete", "patch", "head", "options"]
        var routes: Set<String> = []
        var inPaths = false
        var currentPath: String?
        for line in yaml.split(separator: "\n", omittingEmptySubsequences: false) {
            if !line.hasPrefix(" ") && !line.isEmpty {
                inPaths = line == "paths:"
                currentPath = nil
                continue
            }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), !line.hasPrefix("   "), line.hasSuffix(":") {
                currentPath = String(line.dropFirst(2).dropLast())
            } else if line.hasPrefix("    "), !line.hasPrefix("     "), line.hasSuffix(":"), let path = currentPath {
                let key = String(line.dropFirst(4).dropLast())
                if methods.contains(key) { routes.insert("\(key.uppercased()) \(path)") }
            }
        }
        return routes
    }

    @Test func documentMatchesRegisteredRoutes() async throws {
        let registered = try await registeredRoutes()
        let documented = Self.documentedRoutes(try Self.document)
        #expect(registered.count >= 16)
        #expect(registered.subtracting(documented).isEmpty, "registered but not documented: \(registered.subtracting(documented).sorted())")
        #expect(documented.subtracting(registered).isEmpty, "documented but not registered: \(documented.subtracting(registered).sorted())")
    }

    @Test func parserReadsPathsAndMethods() {
        let yaml = """
            openapi: 3.1.0
            paths:
              /a/{id}:
                parameters:
                  - name: id
                get:
                  summary: x
                delete:
                  summary: y
              /b:
                post:
                  summary: z
            components:
              schemas:
                get:
                  type: object
            """
        #expect(Self.documentedRoutes(yaml) == ["GET /a/{id}", "DELETE /a/{id}", "POST /b"])
    }
}
