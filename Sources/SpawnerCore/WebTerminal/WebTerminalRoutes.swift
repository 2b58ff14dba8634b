import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// The web terminal: `GET /ui/terminal` (the page, built into the spawner), `/ui/xterm.js` and
/// `/ui/xterm.css` (Debian's xterm.js, read from `xtermDirectory` and bundled on first use). No
/// signature: the page holds no secret; the pre-signed URL it is opened with authorises its
/// WebSocket.
struct WebTerminalRoutes: Sendable {
    let xtermDirectory: String
    private let cache = Cache()

    init(xtermDirectory: String) {
        self.xtermDirectory = xtermDirectory
    }

    func register(on router: Router<SpawnerRequestContext>) {
        router.get("/ui/terminal") { _, _ in
            Self.file(PackageResources.terminal_html, "text/html; charset=utf-8")
        }
        router.get("/ui/xterm.js") { _, _ in
            guard let script = cache.script(xtermDirectory) else { throw Self.missing(xtermDirectory) }
            return Self.file(script, "application/javascript; charset=utf-8")
        }
        router.get("/ui/xterm.css") { _, _ in
            guard let css = cache.stylesheet(xtermDirectory) else { throw Self.missing(xtermDirectory) }
            return Self.file(css, "text/css; charset=utf-8")
        }
    }

    /// The page is opened with a pre-signed URL (`?session=…&ts=…&sig=…`): it drops the query
    /// from the address bar as it loads (`history.replaceState`), and every answer here tells
    /// the browser to send no `Referer` (the URL never leaves in one), not to guess content
    /// types, and not to let another site frame the page.
    private static func file(_ bytes: [UInt8], _ type: String) -> Response {
        Response(
            status: .ok,
            headers: [
                .contentType: type, .cacheControl: "no-store", .contentSecurityPolicy: contentSecurityPolicy,
                .referrerPolicy: "no-referrer", .xContentTypeOptions: "nosniff",
            ],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// Scripts and styles from this origin only; the WebSocket to this origin; no framing.
    static let contentSecurityPolicy =
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

    private static func missing(_ directory: String) -> SpawnerError {
        SpawnerError(.unavailable, "xterm.js is not installed (Debian's node-xterm, in \(directory))")
    }

    /// The bundle and stylesheet, built once.
    final class Cache: Sendable {
        private let state = Mutex<(script: [UInt8]?, css: [UInt8]?)>((nil, nil))

        func script(_ directory: String) -> [UInt8]? {
            if let script = state.withLock({ $0.script }) { return script }
            guard let built = XtermBundle.build(root: directory) else { return nil }
            state.withLock { $0.script = built }
            return built
        }

        func stylesheet(_ directory: String) -> [UInt8]? {
            if let css = state.withLock({ $0.css }) { return css }
            guard let read = XtermBundle.stylesheet(root: directory) else { return nil }
            state.withLock { $0.css = read }
            return read
        }
    }
}

extension HTTPField.Name {
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
}
