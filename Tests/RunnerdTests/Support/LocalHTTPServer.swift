import Foundation

/// A small HTTP server on 127.0.0.1 (never any other address), for `url` staging tests.
///
/// It is `python3`'s `http.server` serving `directory`, plus a few special paths:
/// - `/redirect-to/PATH` answers `302 Location: /PATH`;
/// - `/redirect-file` answers `302 Location: file:///etc/passwd`;
/// - `/redirect-loop` answers `302 Location: /redirect-loop` (forever);
/// - `/stream/N` sends N bytes (`z`) with no Content-Length, ending by closing the connection.
final class LocalHTTPServer: @unchecked Sendable {
    let directory: String
    let port: Int
    private let process: Process
    private let scratch: String

    var baseURL: String { "http://127.0.0.1:\(port)" }

    func url(_ path: String) -> String { baseURL + (path.hasPrefix("/") ? path : "/" + path) }

    static let script = #"""
        import http.server, os, sys

        directory, port_file = sys.argv[1], sys.argv[2]

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=directory, **kwargs)

            def log_message(self, *args):
                pass

            def redirect(self, location):
                self.send_response(302)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self):
                if self.path.startswith("/redirect-to/"):
                    return self.redirect(self.path[len("/redirect-to"):])
                if self.path == "/redirect-file":
                    return self.redirect("file:///etc/passwd")
                if self.path == "/redirect-loop":
                    return self.redirect("/redirect-loop")
                if self.path.startswith("/stream/"):
                    remaining = int(self.path[len("/stream/"):])
                    self.send_response(200)
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    chunk = b"z" * 65536
                    try:
                        while remaining > 0:
                            count = min(remaining, len(chunk))
                            self.wfile.write(chunk[:count])
                            remaining -= count
                    except OSError:
                        pass
                    self.close_connection = True
                    return
                return super().do_GET()

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True
            def handle_error(self, request, client_address):
                pass

        server = Server(("127.0.0.1", 0), Handler)
        with open(port_file + ".tmp", "w") as f:
            f.write(str(server.server_address[1]))
        os.rename(port_file + ".tmp", port_file)
        server.serve_forever()
        """#

    /// Starts the server on an ephemeral loopback port and waits until it listens.
    static func start(directory: String) async throws -> LocalHTTPServer {
        let scratch = RunnerdProcess.makeTempDir("runnerd-http")
        let scriptPath = scratch + "/server.py"
        let portFile = scratch + "/port"
        try script.write(toFile: scriptPath, atomically: true, encoding: .utf8)
        let process = Process()
        let python = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : "/usr/bin/env"
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = (python == "/usr/bin/env" ? ["python3"] : []) + [scriptPath, directory, portFile]
        process.standardOutput = FileHandle.nullDevice
        _ = FileManager.default.createFile(atPath: scratch + "/stderr.log", contents: nil)
        process.standardError = FileHandle(forWritingAtPath: scratch + "/stderr.log")
        try process.run()
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let text = try? String(contentsOfFile: portFile, encoding: .utf8), let port = Int(text) {
                return LocalHTTPServer(directory: directory, port: port, process: process, scratch: scratch)
            }
            if !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        let log = (try? String(contentsOfFile: scratch + "/stderr.log", encoding: .utf8)) ?? ""
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        throw StartFailure(log: log)
    }

    struct StartFailure: Error, CustomStringConvertible {
        let log: String
        var description: String { "the local HTTP server did not start: \(log)" }
    }

    private init(directory: String, port: Int, process: Process, scratch: String) {
        self.directory = directory
        self.port = port
        self.process = process
        self.scratch = scratch
    }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: scratch)
    }

    deinit { stop() }
}
