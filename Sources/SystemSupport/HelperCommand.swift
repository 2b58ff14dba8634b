import Glibc

/// A short-lived helper program run to completion (`nft` at runnerd's boot): its input from a
/// memory file, its stdout and stderr together into another, so neither side can block on a
/// full pipe.
public enum HelperCommand {
    public struct Outcome: Sendable {
        public var status: WaitStatus
        /// stdout and stderr as the helper wrote them, up to the limit.
        public var output: [UInt8]
        public var text: String { String(decoding: output, as: UTF8.self) }
    }

    /// Runs `argv` (an absolute path first) with an empty environment and `input` on stdin,
    /// waits for it and reaps it. Call before a reaper of all children runs (boot).
    public static func run(_ argv: [String], input: [UInt8] = [], outputLimit: Int = 1 << 20) throws(SystemError) -> Outcome {
        let stdin = try MemoryFile.create("helper-input", contents: input)
        defer { Syscall.close(stdin) }
        try Syscall.retrying("lseek") { lseek(stdin, 0, SEEK_SET) }
        let output = try MemoryFile.create("helper-output", contents: [])
        defer { Syscall.close(output) }
        var spec = SpawnSpec(argv: argv, environment: [], cwdFD: nil, stdin: stdin, stdout: output, stderr: output)
        spec.closeOtherDescriptors = true
        let pid = try ProcessSpawner.spawn(spec)
        let status = ProcessSpawner.waitForExit(pid)
        try Syscall.retrying("lseek") { lseek(output, 0, SEEK_SET) }
        let bytes = try Syscall.readAll(output, limit: outputLimit, what: "\(argv[0]) output")
        return Outcome(status: status, output: bytes)
    }
}
