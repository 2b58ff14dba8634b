import AsyncHTTPClient
import Foundation
import HummingbirdWSClient
import Logging
import NIOCore
import SpawnerClient
import Synchronization
import SystemSupport
import Testing

/// The web terminal page in a real headless browser (Debian's chromium), driven over the
/// DevTools protocol: keys are typed into the page, the screen is read from xterm.js.
@Suite(.timeLimit(.minutes(5))) struct WebTerminalBrowserTests {
    @Test func typeEchoHiAndResizeThePage() async throws {
        try await withSpawner { (spawner: SpawnerProcess) async throws in
            _ = try await spawner.client.create("browser")
            let page = spawner.client.terminalPageURL("browser")
            // The page and its script are served (the script bundled from Debian's xterm.js),
            // with no Referer, no type sniffing and no framing by another site.
            let served = try await HTTPClient.shared.execute(HTTPClientRequest(url: spawner.baseURL + "/ui/terminal"), timeout: .seconds(30))
            #expect(served.status == .ok)
            #expect(served.headers.first(name: "referrer-policy") == "no-referrer")
            #expect(served.headers.first(name: "x-content-type-options") == "nosniff")
            #expect(served.headers.first(name: "content-security-policy")?.contains("frame-ancestors 'none'") == true)
            let script = try await spawner.openGET("/ui/xterm.js")
            #expect(script.status == 200)
            #expect(script.body.contains("window.Terminal = load(\"xterm.js\")"))
            #expect(try await spawner.openGET("/ui/xterm.css").status == 200)

            let browser = try await Chromium.start(url: page)
            defer { browser.stop() }
            try await browser.devTools { tools in
                #expect(try await tools.waitFor("window.terminalState && window.terminalState.execId !== null"), "the page's WebSocket is attached")
                // The signature is gone from the address bar (and history); the session stays.
                #expect(try await tools.evaluate("location.search") == "?session=browser")
                #expect(try await tools.evaluate("String(history.length)") == "1")
                try await tools.type("echo hi\r")
                let echoed = try await tools.waitFor(#"/(^|\n)hi *(\n|$)/.test(window.terminalText())"#)
                let screen = try await tools.evaluate("window.terminalText()") ?? ""
                #expect(echoed, "\(screen)")
                let before = try await tools.size()
                try await tools.type("stty size\r")
                #expect(try await tools.waitFor("window.terminalText().indexOf('\(before.rows) \(before.cols)') >= 0"), "stty size is the page's size")
                // A smaller window: xterm.js fits itself and the page sends a resize frame.
                try await tools.call("Emulation.setDeviceMetricsOverride", ["width": 480, "height": 240, "deviceScaleFactor": 1, "mobile": false])
                #expect(try await tools.waitFor("window.term.cols !== \(before.cols) && window.term.rows !== \(before.rows)"))
                let after = try await tools.size()
                try await tools.type("clear; stty size\r")
                let followed = try await tools.waitFor("window.terminalText().indexOf('\(after.rows) \(after.cols)') >= 0")
                let resized = try await tools.evaluate("window.terminalText()") ?? ""
                #expect(followed, "stty size follows the page: \(resized)")
                try await tools.type("exit 4\r")
                #expect(try await tools.waitFor("window.terminalState.exit !== null && window.terminalState.exit.exitCode === 4"))
                #expect(try await tools.waitFor("window.terminalState.closed === 1000"))
            }
        }
    }
}

/// A headless chromium with its DevTools port.
final class Chromium: Sendable {
    let pid: pid_t
    let port: Int
    let profile: String

    private init(pid: pid_t, port: Int, profile: String) {
        self.pid = pid
        self.port = port
        self.profile = profile
    }

    static func start(url: String) async throws -> Chromium {
        let profile = TestPaths.makeTempDir("chromium")
        let devNull = open("/dev/null", O_RDWR | O_CLOEXEC)
        defer { close(devNull) }
        let environment = ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" }
        let pid = try ProcessSpawner.spawn(SpawnSpec(
            argv: [
                "/usr/bin/chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage",
                "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "--remote-allow-origins=*", "--user-data-dir=\(profile)", "--window-size=1000,600", url,
            ],
            environment: environment, cwdFD: nil, stdin: devNull, stdout: devNull, stderr: devNull))
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if let text = try? String(contentsOfFile: profile + "/DevToolsActivePort", encoding: .utf8),
                let port = text.split(separator: "\n").first.flatMap({ Int($0) })
            {
                return Chromium(pid: pid, port: port, profile: profile)
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        kill(-pid, SIGKILL)
        throw ChromiumError.noDevTools
    }

    enum ChromiumError: Error { case noDevTools, noPage, noAnswer(String) }

    /// Runs `body` with a DevTools session on the page.
    func devTools(_ body: @escaping @Sendable (DevTools) async throws -> Void) async throws {
        var target: String?
        let deadline = ContinuousClock.now + .seconds(30)
        while target == nil && ContinuousClock.now < deadline {
            let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/json/list"), timeout: .seconds(10))
            let bytes = try await response.body.collect(upTo: 1 << 20)
            let list = (try? JSONSerialization.jsonObject(with: Data(buffer: bytes))) as? [[String: Any]] ?? []
            target = list.first { $0["type"] as? String == "page" }?["webSocketDebuggerUrl"] as? String
            if target == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        guard let target else { throw ChromiumError.noPage }
        try await WebSocketClient.connect(
            url: target, configuration: .init(maxFrameSize: 16 << 20), logger: Logger(label: "devtools")
        ) { inbound, outbound, _ in
            let tools = DevTools(outbound: outbound)
            let reader = Task {
                for try await message in inbound.messages(maxSize: 64 << 20) {
                    if case .text(let text) = message { tools.received(text) }
                }
            }
            defer { reader.cancel() }
            try await body(tools)
            try await outbound.close(.normalClosure, reason: nil)
        }
    }

    func stop() {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        TestPaths.remove(profile)
    }
}

/// A DevTools protocol session: commands by id, answers matched to them.
final class DevTools: Sendable {
    private let outbound: WebSocketOutboundWriter
    private let state = Mutex<(next: Int, answers: [Int: [String: any Sendable]])>((1, [:]))

    init(outbound: WebSocketOutboundWriter) {
        self.outbound = outbound
    }

    func received(_ text: String) {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any], let id = object["id"] as? Int else { return }
        let result = (object["result"] as? [String: Any]) ?? ["error": "\(object["error"] ?? "none")"]
        state.withLock { $0.answers[id] = result.mapValues { "\($0)" } as [String: any Sendable] }
        if let inner = result["result"] as? [String: Any] {
            state.withLock { $0.answers[id]?["value"] = inner["value"].map { "\($0)" } }
        }
    }

    @discardableResult
    func call(_ method: String, _ params: [String: Any] = [:]) async throws -> [String: any Sendable] {
        let id = state.withLock { state in
            defer { state.next += 1 }
            return state.next
        }
        let message = try JSONSerialization.data(withJSONObject: ["id": id, "method": method, "params": params])
        try await outbound.write(.text(String(decoding: message, as: UTF8.self)))
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let answer = state.withLock({ $0.answers.removeValue(forKey: id) }) { return answer }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw Chromium.ChromiumError.noAnswer(method)
    }

    /// The value of a JavaScript expression, as text.
    func evaluate(_ expression: String) async throws -> String? {
        try await call("Runtime.evaluate", ["expression": expression, "returnByValue": true])["value"] as? String
    }

    /// Polls until a JavaScript expression is true.
    func waitFor(_ expression: String, timeout: Duration = .seconds(30)) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let value = try await evaluate("!!(\(expression))")
            if value == "1" || value == "true" { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    /// Types text as key presses into the focused page (a carriage return is Enter).
    func type(_ text: String) async throws {
        for character in text {
            if character == "\r" {
                try await call("Input.dispatchKeyEvent", ["type": "keyDown", "key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13, "text": "\r"])
                try await call("Input.dispatchKeyEvent", ["type": "keyUp", "key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13])
            } else {
                try await call("Input.dispatchKeyEvent", ["type": "keyDown", "key": String(character), "text": String(character)])
                try await call("Input.dispatchKeyEvent", ["type": "keyUp", "key": String(character)])
            }
        }
    }

    /// The terminal's size in the page.
    func size() async throws -> (cols: Int, rows: Int) {
        let cols = Int(try await evaluate("String(window.term.cols)") ?? "") ?? 0
        let rows = Int(try await evaluate("String(window.term.rows)") ?? "") ?? 0
        return (cols, rows)
    }
}
