#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Running a suite: what the executables and the tests share.
public enum SuiteRun {
    /// Six random lowercase hex digits (exec ids, paths and session ids of one run).
    public static func makeTag() -> String {
        String((0..<6).map { _ in "0123456789abcdef".randomElement()! })
    }

    /// A file's bytes (the token or secret file, schemas).
    public static func read(_ path: String) throws -> [UInt8] {
        guard let file = fopen(path, "rb") else { throw CheckFailure("cannot open \(path): errno \(errno)") }
        defer { fclose(file) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&buffer, 1, buffer.count, file)
            if n <= 0 { break }
            out += buffer[0..<n]
        }
        return out
    }

    /// A secret or token read from a file, without its trailing line end.
    public static func secret(fromFile path: String) throws -> [UInt8] {
        var bytes = try read(path)
        while let last = bytes.last, last == 0x0A || last == 0x0D { bytes.removeLast() }
        return bytes
    }

    public static func registry(schemas: String?) throws -> SchemaRegistry {
        guard let schemas else { return .embedded }
        return try SchemaRegistry.load(directory: schemas, read: read)
    }

    /// Prints a line and flushes (one line per check, as it finishes).
    public static func printLine(_ line: String) {
        print(line)
        fflush(nil)
    }

    /// Runs the runnerd suite.
    public static func runnerd(
        url: String, token: String, options: RunnerdOptions = RunnerdOptions(), runner: CheckRunner, registry: SchemaRegistry = .embedded,
        output: @Sendable (String) -> Void
    ) async -> Summary {
        let client = WireClient()
        let target = RunnerdTarget(baseURL: url, token: token, client: client, validator: SchemaValidator(registry: registry), runTag: makeTag())
        let summary = await runner.run(RunnerdSuite.checks(target, options), output: output)
        await client.shutdown()
        return summary
    }

    /// Runs the spawner suite.
    public static func spawner(
        url: String, secret: [UInt8], options: SpawnerOptions = SpawnerOptions(), runner: CheckRunner, registry: SchemaRegistry = .embedded,
        output: @Sendable (String) -> Void
    ) async -> Summary {
        let client = WireClient()
        let target = SpawnerTarget(baseURL: url, secret: secret, client: client, validator: SchemaValidator(registry: registry), runTag: makeTag())
        let summary = await runner.run(SpawnerSuite.checks(target, options), output: output)
        await client.shutdown()
        return summary
    }

    /// `--list`: every check's name and rule.
    public static func list(_ checks: [Check]) -> [String] {
        checks.map { "\($0.name)\t\($0.feature.map { "[\($0.rawValue)] " } ?? "")\($0.rule)" }
    }
}
