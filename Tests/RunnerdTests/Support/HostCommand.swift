import Foundation

/// A command run by the test itself (as the test's user, outside runnerd): builds with cc, a
/// control run of the syscall probe.
struct HostCommand {
    let status: Int32
    /// stdout and stderr, interleaved.
    let output: String

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Runs `argv` (argv[0] searched in PATH) to its end.
    static func run(_ argv: [String], environment: [String: String]? = nil) throws -> HostCommand {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = argv
        if let environment { process.environment = environment }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return HostCommand(status: process.terminationStatus, output: output)
    }

    /// Runs `argv` and throws unless it exits 0.
    @discardableResult
    static func succeed(_ argv: [String]) throws -> String {
        let result = try run(argv)
        guard result.status == 0 else { throw Failure(description: "\(argv.joined(separator: " ")) exited \(result.status): \(result.output)") }
        return result.output
    }

    /// The path of `tool` in this process's PATH, or nil.
    static func which(_ tool: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(tool)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
