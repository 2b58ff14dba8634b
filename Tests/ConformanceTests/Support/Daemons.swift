import ConformanceKit
import Foundation
import TestSupport

/// The binaries under test, built next to the test bundle, and the daemons started from them.
enum Binaries {
    static var directory: String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().path
    }

    static var repositoryRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    /// The production exec shim next to runnerd (scripts/test-prereqs/exec-shim.sh builds it;
    /// a bare `swift test` gets it built here once).
    static let shim: Result<Void, TestFailure> = {
        if FileManager.default.isExecutableFile(atPath: directory + "/runnerd-exec-shim") { return .success(()) }
        do {
            let status = try run(["/bin/bash", repositoryRoot + "/scripts/build-shim", directory])
            return status == 0 ? .success(()) : .failure(TestFailure("scripts/build-shim exited \(status)"))
        } catch {
            return .failure(TestFailure("scripts/build-shim: \(error)"))
        }
    }()

    /// Runs a command to its end; its exit status.
    static func run(_ command: [String], environment: [String: String] = ProcessInfo.processInfo.environment, stdout: ChildProcess.Stream = .null) throws -> Int32 {
        let child = try ChildProcess(command, environment: environment, stdout: stdout, stderr: stdout)
        child.waitUntilExit()
        return child.terminationStatus
    }

    static func makeTempDir(_ prefix: String) -> String {
        var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
        let path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
        chmod(path, 0o711)
        return path
    }

    /// A free loopback port (bound and released: for a daemon that must come back on the same one).
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Waits for a `--ready-file` announcement `{"host","port","pid"}`; its port.
    static func announcedPort(_ file: String, process: ChildProcess, log: String) async throws -> Int {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if let data = FileManager.default.contents(atPath: file), let json = try? JSONParser.parse(Array(data)), let port = json["port"]?.int {
                return Int(port)
            }
            if !process.isRunning {
                throw TestFailure("exited \(process.terminationStatus) before listening: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestFailure("did not announce its port within 60 s")
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A real runnerd (debug build, production shim) on a loopback port, for one test.
final class Runnerd: @unchecked Sendable {
    let process: ChildProcess
    let port: Int
    let token: String
    let workspace: String
    let log: String
    var url: String { "http://127.0.0.1:\(port)" }

    private init(process: ChildProcess, port: Int, token: String, workspace: String, log: String) {
        self.process = process
        self.port = port
        self.token = token
        self.workspace = workspace
        self.log = log
    }

    static func start(maxLiveExecs: Int = 16) async throws -> Runnerd {
        try Binaries.shim.get()
        let workspace = Binaries.makeTempDir("conformance-ws")
        let scratch = Binaries.makeTempDir("conformance-runnerd")
        let token = "conformance-\(UUID().uuidString)"
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("RUNNERD_") }
        env["RUNNERD_LISTEN"] = "127.0.0.1:0"
        env["RUNNERD_WORKSPACE"] = workspace
        env["RUNNERD_READY_FILE"] = scratch + "/ready.json"
        env["RUNNERD_TOKEN"] = token
        env["RUNNERD_MAX_LIVE_EXECS"] = String(maxLiveExecs)
        let log = scratch + "/runnerd.log"
        let process = try ChildProcess([Binaries.directory + "/runnerd"], environment: env, stderr: .file(log))
        let port = try await Binaries.announcedPort(scratch + "/ready.json", process: process, log: log)
        return Runnerd(process: process, port: port, token: token, workspace: workspace, log: log)
    }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            let deadline = Date().addingTimeInterval(15)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        _ = try? Binaries.run(["/bin/rm", "-rf", workspace])
    }
}

/// Runs a conformance executable to its end: its output lines and exit status.
func runSuiteBinary(_ name: String, _ arguments: [String]) async throws -> (lines: [String], status: Int32) {
    let out = Binaries.makeTempDir("conformance-out") + "/out.txt"
    let child = try ChildProcess([Binaries.directory + "/" + name] + arguments, environment: ProcessInfo.processInfo.environment, stdout: .file(out), stderr: .file(out))
    await Task.detached { child.waitUntilExit() }.value
    let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
    return (text.split(separator: "\n").map(String.init), child.terminationStatus)
}
