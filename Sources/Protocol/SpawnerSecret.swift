/// Where the spawner's HMAC secret comes from, for the server and every client alike:
/// the file named by `SPAWNER_SECRET_FILE` (it wins) or `SPAWNER_SECRET`; a trailing line
/// end is not part of it.
public enum SpawnerSecret {
    public static let minimumBytes = 32

    /// Why no usable secret was found.
    public struct Problem: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// The secret; `file` (a flag) overrides `SPAWNER_SECRET_FILE`.
    public static func load(
        environment: [String: String], file: String? = nil, readFile: (String) throws -> [UInt8]
    ) throws(Problem) -> [UInt8] {
        var secret: [UInt8]
        if let path = file ?? environment["SPAWNER_SECRET_FILE"] {
            do {
                secret = try readFile(path)
            } catch {
                throw Problem(description: "cannot read the secret file \(path): \(error)")
            }
        } else if let inline = environment["SPAWNER_SECRET"] {
            secret = Array(inline.utf8)
        } else {
            throw Problem(description: "no secret: set SPAWNER_SECRET or SPAWNER_SECRET_FILE (at least \(minimumBytes) bytes)")
        }
        while let last = secret.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") { secret.removeLast() }
        guard secret.count >= minimumBytes else {
            throw Problem(description: "the secret has \(secret.count) bytes; at least \(minimumBytes) are required")
        }
        return secret
    }
}
