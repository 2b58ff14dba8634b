import NIOCore
import RunnerProtocol
import SpawnerClient
@testable import SpawnerCore
import Testing

/// Pure pieces: SSE framing and parsing, configuration, caps, request validation.
@Suite struct SSEFrameTests {
    @Test func canonicalLinesAreScannedWithoutDecoding() throws {
        let line = EventWriter.line(ExecEvent(seq: 42, .stdout(Array("hi\n".utf8))))
        var trimmed = line
        trimmed.moveWriterIndex(to: trimmed.writerIndex - 1)  // without the newline
        let header = try #require(SSEFrame.kindAndSeq(of: trimmed))
        #expect(header.kind == "stdout" && header.seq == 42)
        let frame = try #require(SSEFrame.encode(line: trimmed))
        #expect(String(buffer: frame) == "event: stdout\nid: 42\ndata: \(String(buffer: trimmed))\n\n")
    }

    @Test func otherShapesAreDecoded() throws {
        let reordered = ByteBuffer(string: #"{"t":"exit","exitCode":0,"seq":7}"#)
        let header = try #require(SSEFrame.kindAndSeq(of: reordered))
        #expect(header.kind == "exit" && header.seq == 7)
        #expect(SSEFrame.kindAndSeq(of: ByteBuffer(string: #"{"seq":"x"}"#)) == nil)
        #expect(SSEFrame.kindAndSeq(of: ByteBuffer(string: "not json")) == nil)
        // A seq too long for the scan still works through the decoder.
        let huge = ByteBuffer(string: #"{"seq":18446744073709551615,"t":"gap","fromSeq":1,"toSeq":2}"#)
        #expect(SSEFrame.kindAndSeq(of: huge)?.seq == UInt64.max)
    }

    @Test func parserHandlesSplitsCRLFMultilineDataAndComments() {
        var parser = SSEParser()
        let text = ": comment\r\nevent: start\r\nid: 1\r\ndata: {\"a\":1}\r\n\r\nevent: stdout\nid: 2\ndata: line one\ndata: line two\n\n"
        var messages: [SSEMessage] = []
        // Byte by byte: every split point is exercised.
        for byte in Array(text.utf8) { messages += parser.append([byte]) }
        #expect(messages == [
            SSEMessage(event: "start", id: "1", data: Array(#"{"a":1}"#.utf8)),
            SSEMessage(event: "stdout", id: "2", data: Array("line one\nline two".utf8)),
        ])
        #expect(!parser.hasPartialMessage)
        _ = parser.append(Array("event: exit\ndata: x".utf8))
        #expect(parser.hasPartialMessage)
    }

    @Test func parserReadsTheServersFrames() throws {
        var parser = SSEParser()
        var all: [SSEMessage] = []
        for seq in UInt64(1)...3 {
            var line = EventWriter.line(ExecEvent(seq: seq, .stderr([UInt8(seq)])))
            line.moveWriterIndex(to: line.writerIndex - 1)
            all += parser.append(try #require(SSEFrame.encode(line: line)))
        }
        #expect(all.map(\.id) == ["1", "2", "3"])
        #expect(try all.map { try EventReader.decode($0.data) } == (UInt64(1)...3).map { ExecEvent(seq: $0, .stderr([UInt8($0)])) })
    }
}

struct NoSuchFile: Error {
    let path: String
}

@Suite struct SpawnerConfigTests {
    static let defaults = SpawnerConfig.Defaults(dataDir: "/d", runnerdPath: "/bin/runnerd")
    static let secret = String(repeating: "s", count: 32)

    static func resolve(_ environment: [String: String], flags: SpawnerConfig.Flags = .init(), files: [String: String] = [:]) throws -> SpawnerConfig {
        try SpawnerConfig.resolve(environment: environment, flags: flags, defaults: defaults) { path in
            guard let text = files[path] else { throw NoSuchFile(path: path) }
            return Array(text.utf8)
        }
    }

    @Test func refusesToStartWithoutASecretOfThirtyTwoBytes() {
        #expect(throws: SpawnerConfig.Invalid.self) { try Self.resolve([:]) }
        #expect(throws: SpawnerConfig.Invalid.self) { try Self.resolve(["SPAWNER_SECRET": String(repeating: "s", count: 31)]) }
        #expect(throws: SpawnerConfig.Invalid.self) { try Self.resolve(["SPAWNER_SECRET_FILE": "/missing"]) }
    }

    @Test func secretFileWinsAndLoosesItsLineEnd() throws {
        let fromFile = String(repeating: "f", count: 40)
        let config = try Self.resolve(
            ["SPAWNER_SECRET": Self.secret, "SPAWNER_SECRET_FILE": "/s"], files: ["/s": fromFile + "\n"])
        #expect(config.secret == Array(fromFile.utf8))
        var flags = SpawnerConfig.Flags()
        flags.secretFile = "/flag"
        let flagged = try Self.resolve(["SPAWNER_SECRET_FILE": "/s"], flags: flags, files: ["/s": fromFile, "/flag": Self.secret + "\r\n"])
        #expect(flagged.secret == Array(Self.secret.utf8))
    }

    @Test func defaultsEnvironmentAndFlags() throws {
        let plain = try Self.resolve(["SPAWNER_SECRET": Self.secret])
        #expect(plain.listenHost == "0.0.0.0" && plain.listenPort == 8080)
        #expect(plain.dataDir == "/d" && plain.runnerdPath == "/bin/runnerd")
        #expect(plain.caps == SessionCaps())

        var flags = SpawnerConfig.Flags()
        flags.listen = "127.0.0.1:0"
        flags.maxSessions = 3
        let config = try Self.resolve(
            [
                "SPAWNER_SECRET": Self.secret, "SPAWNER_LISTEN": "[::1]:9000", "SPAWNER_MAX_SESSIONS": "10",
                "SPAWNER_MAX_SESSIONS_PER_ORG": "4", "SPAWNER_MAX_SESSIONS_PER_OWNER": "2", "SPAWNER_READY_TIMEOUT_MS": "2500",
                "SPAWNER_DATA_DIR": "/var/x", "SPAWNER_RUNNERD_PATH": "/opt/runnerd",
            ], flags: flags)
        #expect(config.listenHost == "127.0.0.1" && config.listenPort == 0)
        #expect(config.caps == SessionCaps(total: 3, perOrg: 4, perOwner: 2))
        #expect(config.readyTimeoutMs == 2500)
        #expect(config.dataDir == "/var/x" && config.runnerdPath == "/opt/runnerd")
        #expect(throws: SpawnerConfig.Invalid.self) { try Self.resolve(["SPAWNER_SECRET": Self.secret, "SPAWNER_MAX_SESSIONS": "many"]) }
        #expect(throws: SpawnerConfig.Invalid.self) { try Self.resolve(["SPAWNER_SECRET": Self.secret, "SPAWNER_LISTEN": "nohost"]) }
    }

    @Test func listenAddresses() {
        #expect(ListenAddress("127.0.0.1:8080") == ListenAddress("127.0.0.1:8080"))
        #expect(ListenAddress(":9")?.host == "0.0.0.0")
        #expect(ListenAddress("[::]:80")?.host == "::")
        #expect(ListenAddress("host:70000") == nil)
        #expect(ListenAddress("host") == nil)
    }
}

@Suite struct SessionRulesTests {
    static func labels(_ id: String, owner: String, org: String) -> SessionLabels {
        SessionLabels(sessionId: id, owner: SessionOwner(kind: "user", id: owner), orgId: org, profile: "p", image: nil, createdAtMs: 0, ttlMs: 1, idleTimeoutMs: 0)
    }

    @Test func capsNameTheCapThatIsReached() {
        let existing = [Self.labels("a", owner: "alice", org: "acme"), Self.labels("b", owner: "bob", org: "acme")]
        let alice = SessionOwner(kind: "user", id: "alice")
        let carol = SessionOwner(kind: "user", id: "carol")
        #expect(SessionCaps().exceeded(by: alice, orgId: "acme", among: existing) == nil)
        #expect(SessionCaps(total: 2).exceeded(by: carol, orgId: "x", among: existing)?.kind == SpawnerErrorKind.totalCapReached)
        #expect(SessionCaps(perOrg: 2).exceeded(by: carol, orgId: "acme", among: existing)?.kind == SpawnerErrorKind.orgCapReached)
        #expect(SessionCaps(perOrg: 2).exceeded(by: carol, orgId: "globex", among: existing) == nil)
        #expect(SessionCaps(perOwner: 1).exceeded(by: alice, orgId: "globex", among: existing)?.kind == SpawnerErrorKind.ownerCapReached)
        #expect(SessionCaps(perOwner: 1).exceeded(by: carol, orgId: "acme", among: existing) == nil)
        #expect(SessionCaps(total: 0).exceeded(by: carol, orgId: "x", among: [])?.status == .tooManyRequests)
    }

    @Test func createRequestValidation() {
        let owner = SessionOwner(kind: "user", id: "a")
        #expect(CreateSessionRequest(owner: owner, orgId: "o").validationError() == nil)
        #expect(CreateSessionRequest(sessionId: "ok-1", owner: owner, orgId: "o").validationError() == nil)
        #expect(CreateSessionRequest(sessionId: "No", owner: owner, orgId: "o").validationError() != nil)
        #expect(CreateSessionRequest(owner: SessionOwner(kind: "", id: "a"), orgId: "o").validationError() != nil)
        #expect(CreateSessionRequest(owner: owner, orgId: "").validationError() != nil)
        #expect(CreateSessionRequest(owner: owner, orgId: "o", ttlMs: 0).validationError() != nil)
        #expect(CreateSessionRequest(owner: owner, orgId: "o", idleTimeoutMs: -1).validationError() != nil)
        #expect(CreateSessionRequest(owner: owner, orgId: "o", env: ["RUNNERD_TOKEN": "x"]).validationError() != nil)
        #expect(CreateSessionRequest(owner: owner, orgId: "o", env: ["GOOD": "x"]).validationError() == nil)
    }

    @Test func sessionInfoHasTheContractsFields() throws {
        let info = SessionInfo(
            sessionId: "s", owner: SessionOwner(kind: "user", id: "a"), orgId: "o", profile: "p", backend: "local", state: .ready,
            createdAtMs: 1, lastActivityAtMs: 2, expiresAtMs: 3)
        #expect(String(decoding: try WireJSON.encode(info), as: UTF8.self)
            == #"{"backend":"local","createdAtMs":1,"expiresAtMs":3,"lastActivityAtMs":2,"orgId":"o","owner":{"id":"a","kind":"user"},"profile":"p","sessionId":"s","state":"ready"}"#)
    }

    @Test func generatedSessionIdsAreValid() {
        for _ in 0..<100 { #expect(Identifier.isValidSessionID(SessionRegistry.newSessionId())) }
    }

    @Test func sandboxEnvironmentKeepsOnlyTheAllowList() {
        let inherited = RunnerdLauncher.sandboxEnvironment(from: [
            "PATH=/bin", "LANG=C.UTF-8", "SPAWNER_SECRET=x", "AWS_SECRET_ACCESS_KEY=y", "HTTP_PROXY=z", "HOME=/root", "NOEQUALS",
        ])
        #expect(inherited == ["PATH=/bin", "LANG=C.UTF-8"])
    }
}

@Suite struct SSEFramerTests {
    static func lines() -> [ByteBuffer] {
        var lines: [ByteBuffer] = []
        lines.append(EventWriter.line(ExecEvent(seq: 1, .start(.init(execId: "e", startedAtMs: 5, pid: 9)))))
        lines.append(EventWriter.line(ExecEvent(seq: 2, .stdout(Array(repeating: 0x41, count: 3000)))))
        lines.append(EventWriter.line(ExecEvent(seq: 3, .stderr(Array("x".utf8)))))
        // Not canonical (keys reordered): collected whole, then decoded.
        lines.append(ByteBuffer(string: #"{"t":"stdout","b64":"eHl6","seq":4}"# + "\n"))
        lines.append(EventWriter.line(ExecEvent(seq: 5, .exit(.init(exitCode: 0, durationMs: 1, truncated: .init(stdout: false, stderr: false), timedOut: false, cancelled: false)))))
        return lines
    }

    static func expected(_ lines: [ByteBuffer]) throws -> [UInt8] {
        try lines.flatMap { line -> [UInt8] in
            var trimmed = line
            trimmed.moveWriterIndex(to: trimmed.writerIndex - 1)
            return Array(try #require(SSEFrame.encode(line: trimmed)).readableBytesView)
        }
    }

    @Test func everySplitPointGivesTheSameMessages() throws {
        let lines = Self.lines()
        var stream = ByteBuffer()
        for var line in lines { stream.writeBuffer(&line) }
        let expected = try Self.expected(lines)
        let bytes = Array(stream.readableBytesView)
        for cut in stride(from: 1, to: bytes.count, by: 7) {
            var framer = SSEFramer()
            var skipped = 0
            var out: [UInt8] = []
            for part in [bytes[..<cut], bytes[cut...]] {
                for message in framer.append(ByteBuffer(bytes: part), skipped: &skipped) { out += message.readableBytesView }
            }
            #expect(out == expected, "cut at \(cut)")
            #expect(!framer.isMidLine && skipped == 0)
        }
    }

    @Test func byteAtATime() throws {
        let lines = Self.lines()
        var framer = SSEFramer()
        var skipped = 0
        var out: [UInt8] = []
        for line in lines {
            for byte in line.readableBytesView {
                for message in framer.append(ByteBuffer(bytes: [byte]), skipped: &skipped) { out += message.readableBytesView }
            }
        }
        #expect(out == (try Self.expected(lines)))
    }

    @Test func linesThatAreNotEventsAreSkippedAndCutLinesNoticed() {
        var framer = SSEFramer()
        var skipped = 0
        #expect(framer.append(ByteBuffer(string: "not an event\n{\"seq\":1,\"t\":\"std"), skipped: &skipped).isEmpty)
        #expect(skipped == 1)
        #expect(framer.isMidLine)
    }
}
