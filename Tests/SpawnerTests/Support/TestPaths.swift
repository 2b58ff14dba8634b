import Foundation
import TestSupport

/// Where the binaries under test are, and scratch space for one test.
enum TestPaths {
    /// The directory of the test bundle: `spawner` and `runnerd` are built next to it.
    static var binDir: String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().path
    }

    static var spawner: String { binDir + "/spawner" }
    static var runnerd: String { binDir + "/runnerd" }

    /// A fresh directory under /tmp, traversable by a runnerd that drops to another uid.
    static func makeTempDir(_ prefix: String = "spawner-test") -> String {
        var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
        let path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
        chmod(path, 0o711)
        return path
    }

    static func remove(_ path: String) {
        // Workspaces may hold directories an exec made unwritable.
        _ = try? FileManager.default.removeItem(atPath: path)
        if FileManager.default.fileExists(atPath: path) {
            let chmod = Process()
            chmod.executableURL = URL(fileURLWithPath: "/bin/chmod")
            chmod.arguments = ["-R", "u+rwx", path]
            try? chmod.run()
            chmod.waitUntilExit()
            _ = try? FileManager.default.removeItem(atPath: path)
        }
    }

    /// A secret of 48 random bytes as text.
    static func makeSecret() -> String {
        (0..<48).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
    }
}

/// Reading `/proc`, to find processes a test must not leak.
enum ProcessScan {
    static func commandLine(_ pid: Int32) -> [String]? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"), !data.isEmpty else { return nil }
        return data.split(separator: 0, omittingEmptySubsequences: false).dropLast().map { String(decoding: $0, as: UTF8.self) }
    }

    static func state(_ pid: Int32) -> String? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = text.lastIndex(of: ")") else { return nil }
        return text[text.index(after: close)...].split(separator: " ").first.map(String.init)
    }

    static func allPIDs() -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap(Int32.init)
    }

    /// Live (non-zombie) processes with an argument containing `fragment`.
    static func processes(mentioning fragment: String) -> [Int32] {
        allPIDs().filter { pid in
            guard let argv = commandLine(pid), state(pid) != "Z" else { return false }
            return argv.contains { $0.contains(fragment) }
        }
    }

    /// What each open descriptor of a process points to (`socket:[inode]`, a path, …).
    static func descriptorTargets(_ pid: Int32) -> Set<String> {
        Set((try? Descriptors.targets(of: pid)) ?? [])
    }

    /// The `Name:\tvalue` lines of a `/proc/PID/status` text, as name → value (trimmed).
    static func statusFields(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2 { fields[String(parts[0])] = parts[1].trimmingCharacters(in: .whitespaces) }
        }
        return fields
    }

    /// `/proc/PID/status` as name → value.
    static func status(_ pid: Int32) -> [String: String]? {
        (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)).map(statusFields)
    }

    /// Resident set size in KiB.
    static func rssKB(_ pid: Int32) -> Int? {
        status(pid)?["VmRSS"]?.split(separator: " ").first.flatMap { Int($0) }
    }
}

struct WaitTimeout: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out waiting for \(what)" }
}
