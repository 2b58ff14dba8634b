import Foundation
import RunnerProtocol
import RunnerdClient
import Testing

/// URL staging runs curl so that nothing the agent wrote steers it: `-q` first (no .curlrc),
/// HOME a directory the agent cannot write, the URL on stdin (a config line), not in argv.
@Suite("URL staging's curl", .timeLimit(.minutes(3)))
struct CurlInvocationTests {
    @Test func curlTakesTheURLOnStdinIgnoresCurlrcAndHasAnUnwritableHome() async throws {
        let served = RunnerdProcess.makeTempDir("curl-served")
        chmod(served, 0o755)
        try "the file\n".write(toFile: served + "/file.txt", atomically: false, encoding: .utf8)
        try "from the agent's curlrc\n".write(toFile: served + "/other.txt", atomically: false, encoding: .utf8)
        let server = try await LocalHTTPServer.start(directory: served)
        defer { server.stop() }

        // A `curl` first in PATH that records how it was run, then runs the real one.
        let realCurl = try #require(HostCommand.which("curl"), "curl is not installed")
        let tools = RunnerdProcess.makeTempDir("curl-wrapper")
        chmod(tools, 0o755)
        let record = tools + "/record"
        try FileManager.default.createDirectory(atPath: record, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o777])
        try """
            #!/bin/sh
            printf '%s\\n' "$@" > \(record)/argv
            printf '%s\\n' "$HOME" > \(record)/home
            cat > \(record)/stdin
            exec \(realCurl) "$@" < \(record)/stdin

            """.write(toFile: tools + "/curl", atomically: false, encoding: .utf8)
        chmod(tools + "/curl", 0o755)

        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let runnerd = try await RunnerdProcess.start(environment: ["PATH": tools + ":" + path])
        // What an agent could leave in its HOME (the workspace): a curlrc naming another URL.
        try "url = \"\(server.url("/other.txt"))\"\n".write(toFile: runnerd.workspace + "/.curlrc", atomically: false, encoding: .utf8)

        // Quotes and backslashes travel escaped in the config line.
        let url = server.url("/file.txt") + "?q=\"quoted\"\\back"
        let response: StageResponse = try await runnerd.client.json(
            .POST, "/files/stage", body: StageRequest(files: [StageFile(path: "dl.txt", url: url)]))
        #expect(response.staged.map(\.path) == ["dl.txt"], "\(response.skipped)")
        #expect(try String(contentsOfFile: runnerd.workspace + "/dl.txt", encoding: .utf8) == "the file\n", "the .curlrc was not read")

        let argv = try String(contentsOfFile: record + "/argv", encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(argv.first == "-q", "\(argv)")
        #expect(!argv.contains { $0.contains("127.0.0.1") }, "the URL is not an argument: \(argv)")
        #expect(Array(argv.prefix(3)) == ["-q", "--config", "-"])
        let home = try String(contentsOfFile: record + "/home", encoding: .utf8)
        #expect(home == "/\n")
        #expect(!Self.isAgentWritable("/"), "curl's HOME is not the agent's to write")
        let config = try String(contentsOfFile: record + "/stdin", encoding: .utf8)
        let escaped = url.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        #expect(config == "url = \"\(escaped)\"\n")
        await runnerd.stop()
    }

    /// Whether uid 10001 could write `path` (owner, group or other write bit that applies).
    static func isAgentWritable(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0 else { return false }
        if info.st_uid == 10001 { return info.st_mode & 0o200 != 0 }
        if info.st_gid == 10001 { return info.st_mode & 0o020 != 0 }
        return info.st_mode & 0o002 != 0
    }
}
