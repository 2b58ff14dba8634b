import Foundation

/// The process environment, files and standard streams, for the CLI, through Foundation (the
/// few system calls the CLI makes itself, such as reading the terminal, go through SystemSupport).
enum ProcessEnvironment {
    static var current: [String: String] { ProcessInfo.processInfo.environment }

    /// A whole file.
    static func readFile(_ path: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    static func isExecutable(_ path: String) -> Bool { FileManager.default.isExecutableFile(atPath: path) }

    /// Writes `bytes` to stdout (fd 1) or stderr (fd 2) at once, unbuffered.
    static func write(_ fd: Int32, _ bytes: some Collection<UInt8>) {
        let handle = fd == 2 ? FileHandle.standardError : FileHandle.standardOutput
        try? handle.write(contentsOf: Data(bytes))
    }

    static func printError(_ text: String) { write(2, Array((text + "\n").utf8)) }
}
