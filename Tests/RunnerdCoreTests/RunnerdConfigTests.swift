@testable import RunnerdCore
import Testing

@Suite(.timeLimit(.minutes(3))) struct RunnerdConfigTests {
    struct NoSuchFile: Error {}

    /// Token files are 0600 and owned by root unless `tokenFiles` says otherwise; `links` maps
    /// a path to the real path it resolves to.
    static func resolve(_ environment: [String: String], flags: RunnerdConfig.Flags = .init(),
                        files: [String: String] = [:], tokenFiles: [String: TokenFile] = [:],
                        links: [String: String] = [:]) throws -> RunnerdConfig
    {
        try RunnerdConfig.resolve(environment: environment, flags: flags, readTokenFile: { path in
            if let file = tokenFiles[path] { return file }
            guard let content = files[path] else { throw NoSuchFile() }
            return TokenFile(contents: Array(content.utf8), mode: 0o600, ownerUID: 0, realPath: links[path] ?? path)
        }, realPath: { links[$0] ?? $0 })
    }

    static func flags(_ configure: (inout RunnerdConfig.Flags) -> Void) -> RunnerdConfig.Flags {
        var flags = RunnerdConfig.Flags()
        configure(&flags)
        return flags
    }

    @Test func defaults() throws {
        let config = try Self.resolve(["RUNNERD_TOKEN": "t"])
        #expect(config.listenHost == "0.0.0.0")
        #expect(config.listenPort == 8200)
        #expect(config.workspace == "/agent")
        #expect(config.maxLiveExecs == 16)
        #expect(config.sessionEnv == [:])
        #expect(config.resolvedStateDir == "/agent/.runnerd")
        #expect(config.token == Array("t".utf8))
    }

    @Test func tokenFileWinsAndIsTrimmed() throws {
        let config = try Self.resolve(["RUNNERD_TOKEN": "inline", "RUNNERD_TOKEN_FILE": "/run/token"],
                                      files: ["/run/token": "from-file\n"])
        #expect(config.token == Array("from-file".utf8))
        let crlf = try Self.resolve(["RUNNERD_TOKEN_FILE": "/t"], files: ["/t": "abc\r\n\n"])
        #expect(crlf.token == Array("abc".utf8))
        // Only trailing whitespace goes.
        let inner = try Self.resolve(["RUNNERD_TOKEN_FILE": "/t"], files: ["/t": "a b\n"])
        #expect(inner.token == Array("a b".utf8))
    }

    @Test func unreadableTokenFileIsAnError() {
        #expect(throws: NoSuchFile.self) {
            try Self.resolve(["RUNNERD_TOKEN": "inline", "RUNNERD_TOKEN_FILE": "/missing"])
        }
    }

    @Test func emptyTokenIsRefused() {
        #expect(throws: RunnerdConfig.Invalid.self) { try Self.resolve(["RUNNERD_TOKEN_FILE": "/t"], files: ["/t": "\n"]) }
        #expect(throws: RunnerdConfig.Invalid.self) { try Self.resolve(["RUNNERD_TOKEN": ""]) }
    }

    @Test func refusesWithoutTokenUnlessInsecure() throws {
        #expect(throws: RunnerdConfig.Invalid.self) { try Self.resolve([:]) }
        let insecure = try Self.resolve([:], flags: Self.flags { $0.insecureNoAuth = true })
        #expect(insecure.token == nil)
        // --insecure-no-auth disables auth even when a token is around.
        let both = try Self.resolve(["RUNNERD_TOKEN": "t"], flags: Self.flags { $0.insecureNoAuth = true })
        #expect(both.token == nil)
    }

    @Test(arguments: [
        ("127.0.0.1:9000", "127.0.0.1", 9000),
        ("0.0.0.0:0", "0.0.0.0", 0),
        ("[::1]:0", "::1", 0),
        ("[::]:8200", "::", 8200),
        (":8080", "0.0.0.0", 8080),
        ("localhost:65535", "localhost", 65535),
    ])
    func listenParsing(_ listen: String, _ host: String, _ port: Int) throws {
        let config = try Self.resolve(["RUNNERD_TOKEN": "t", "RUNNERD_LISTEN": listen])
        #expect(config.listenHost == host)
        #expect(config.listenPort == port)
    }

    @Test(arguments: ["8200", "host:", "host:port", "host:65536", "host:-1", ""])
    func badListenIsRefused(_ listen: String) {
        #expect(throws: RunnerdConfig.Invalid.self) { try Self.resolve(["RUNNERD_TOKEN": "t", "RUNNERD_LISTEN": listen]) }
    }

    @Test(arguments: ["0", "-1", "abc", "", "1.5"])
    func badMaxLiveExecsIsRefused(_ raw: String) {
        #expect(throws: RunnerdConfig.Invalid.self) { try Self.resolve(["RUNNERD_TOKEN": "t", "RUNNERD_MAX_LIVE_EXECS": raw]) }
    }

    @Test func maxLiveExecs() throws {
        #expect(try Self.resolve(["RUNNERD_TOKEN": "t", "RUNNERD_MAX_LIVE_EXECS": "3"]).maxLiveExecs == 3)
        #expect(throws: RunnerdConfig.Invalid.self) {
            try Self.resolve(["RUNNERD_TOKEN": "t"], flags: Self.flags { $0.maxLiveExecs = 0 })
        }
    }

    @Test func sessionEnvParsing() throws {
        let config = try Self.resolve(["RUNNERD_TOKEN": "t", "RUNNERD_SESSION_ENV": #"{"A":"1","B":"two words"}"#])
        #expect(config.sessionEnv == ["A": "1", "B": "two words"])
        #expect(try Self.resolve(["RUNNERD_TOKEN": "t", "RUNNERD_SESSION_ENV": "{}"]).sessionEnv == [:])
    }

    @Test(arguments: [#"{"A":1}"#, #"["A"]"#, "not json", "", #"{"A":null}"#, #"{"A":{"B":"c"}}"#])
    func badSessionEnvIsRefused(_ raw: String) {
        #expect(throws: RunnerdConfig.Invalid.self) {
            try Self.resolve(["RUNNERD_TOKEN": "t", "RUNNERD_SESSION_ENV": raw])
        }
    }

    @Test func flagsOverrideEnvironment() throws {
        let environment = [
            "RUNNERD_TOKEN": "env-token", "RUNNERD_LISTEN": "1.1.1.1:1", "RUNNERD_WORKSPACE": "/env-ws",
            "RUNNERD_MAX_LIVE_EXECS": "2", "RUNNERD_SESSION_ENV": #"{"ENV":"1"}"#, "RUNNERD_STATE_DIR": "/env-state",
            "RUNNERD_KILL_GRACE_MS": "100",
        ]
        let flags = Self.flags {
            $0.tokenFile = "/flag-token"
            $0.listen = "[::1]:0"
            $0.workspace = "/flag-ws"
            $0.maxLiveExecs = 7
            $0.sessionEnv = #"{"FLAG":"1"}"#
            $0.stateDir = "/flag-state"
            $0.killGraceMs = 250
        }
        let config = try Self.resolve(environment, flags: flags, files: ["/flag-token": "flag-token"])
        #expect(config.token == Array("flag-token".utf8))
        #expect(config.listenHost == "::1")
        #expect(config.listenPort == 0)
        #expect(config.workspace == "/flag-ws")
        #expect(config.maxLiveExecs == 7)
        #expect(config.sessionEnv == ["FLAG": "1"])
        #expect(config.resolvedStateDir == "/flag-state")
        #expect(config.killGraceMs == 250)

        let envOnly = try Self.resolve(environment)
        #expect(envOnly.token == Array("env-token".utf8))
        #expect(envOnly.listenHost == "1.1.1.1")
        #expect(envOnly.workspace == "/env-ws")
        #expect(envOnly.maxLiveExecs == 2)
        #expect(envOnly.sessionEnv == ["ENV": "1"])
        #expect(envOnly.killGraceMs == 100)
    }

    @Test func tokenFileFlagWinsOverTheEnvironment() throws {
        let flags = Self.flags { $0.tokenFile = "/flag-file" }
        let config = try Self.resolve(["RUNNERD_TOKEN_FILE": "/env-file", "RUNNERD_TOKEN": "inline"], flags: flags,
                                      files: ["/flag-file": "file-token\n", "/env-file": "env-file-token"])
        #expect(config.token == Array("file-token".utf8))
    }

    /// A token file the agent could read is refused, with a message that says why.
    @Test(arguments: [
        (TokenFile(contents: Array("t".utf8), mode: 0o644, ownerUID: 0, realPath: "/run/t"), "readable by group or others"),
        (TokenFile(contents: Array("t".utf8), mode: 0o640, ownerUID: 0, realPath: "/run/t"), "readable by group or others"),
        (TokenFile(contents: Array("t".utf8), mode: 0o604, ownerUID: 0, realPath: "/run/t"), "readable by group or others"),
        (TokenFile(contents: Array("t".utf8), mode: 0o600, ownerUID: 0, realPath: "/ws/t"), "inside the workspace"),
        (TokenFile(contents: Array("t".utf8), mode: 0o400, ownerUID: 0, realPath: "/ws/deep/t"), "inside the workspace"),
        (TokenFile(contents: Array("t".utf8), mode: 0o600, ownerUID: 10001, realPath: "/run/t"), "owned by the agent uid"),
    ])
    func tokenFileWithinTheAgentsReachIsRefused(_ file: TokenFile, _ reason: String) {
        let error = #expect(throws: RunnerdConfig.Invalid.self) {
            try Self.resolve(["RUNNERD_TOKEN_FILE": "/t", "RUNNERD_WORKSPACE": "/ws"], tokenFiles: ["/t": file])
        }
        #expect(error?.description.contains(reason) == true, "\(error?.description ?? "")")
    }

    @Test func tokenFileCheckResolvesSymlinks() throws {
        // The workspace is a symlink to /real-ws; the token file's real path is under it.
        #expect(throws: RunnerdConfig.Invalid.self) {
            try Self.resolve(["RUNNERD_TOKEN_FILE": "/run/t", "RUNNERD_WORKSPACE": "/ws"], files: ["/run/t": "t"],
                             links: ["/ws": "/real-ws", "/run/t": "/real-ws/.t"])
        }
        // A sibling whose name merely starts with the workspace's is outside it.
        let sibling = try Self.resolve(["RUNNERD_TOKEN_FILE": "/t", "RUNNERD_WORKSPACE": "/ws"], files: ["/t": "t"],
                                       links: ["/t": "/ws-other/t"])
        #expect(sibling.token == Array("t".utf8))
        let readOnly = try Self.resolve(["RUNNERD_TOKEN_FILE": "/t"], tokenFiles: [
            "/t": TokenFile(contents: Array("ro\n".utf8), mode: 0o400, ownerUID: 0, realPath: "/run/secrets/t"),
        ])
        #expect(readOnly.token == Array("ro".utf8))
    }

    @Test func stateDirDefaultsUnderTheWorkspace() throws {
        let config = try Self.resolve(["RUNNERD_TOKEN": "t", "RUNNERD_WORKSPACE": "/ws"])
        #expect(config.resolvedStateDir == "/ws/.runnerd")
    }

    @Test func secretVariablesNameBothTokenForms() {
        #expect(Set(RunnerdConfig.secretVariables) == ["RUNNERD_TOKEN", "RUNNERD_TOKEN_FILE"])
    }
}
