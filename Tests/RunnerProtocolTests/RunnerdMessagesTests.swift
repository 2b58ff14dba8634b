import Foundation
import RunnerProtocol
import Testing

@Suite(.timeLimit(.minutes(2))) struct RunnerdMessagesTests {
    static func object(_ value: some Encodable) throws -> NSDictionary {
        let bytes = try WireJSON.encode(value)
        return try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? NSDictionary)
    }

    static func keys(_ dict: NSDictionary) -> Set<String> { Set(dict.allKeys.compactMap { $0 as? String }) }

    static func text(_ value: some Encodable) throws -> String { String(decoding: try WireJSON.encode(value), as: UTF8.self) }

    @Test func healthResponseFieldNames() throws {
        let health = HealthResponse(ok: true, bootedAtMs: 1, lastActivityAtMs: 2, liveExecs: 3, version: "1.2.3")
        let dict = try Self.object(health)
        #expect(Self.keys(dict) == ["ok", "bootedAtMs", "lastActivityAtMs", "liveExecs", "version"])
        #expect(dict["ok"] as? Bool == true)
        #expect(dict["bootedAtMs"] as? Int == 1)
        #expect(dict["lastActivityAtMs"] as? Int == 2)
        #expect(dict["liveExecs"] as? Int == 3)
        #expect(dict["version"] as? String == "1.2.3")
        var draining = health
        draining.draining = true
        #expect(Self.keys(try Self.object(draining)) == ["ok", "bootedAtMs", "lastActivityAtMs", "liveExecs", "version", "draining"])
    }

    @Test func healthResponseDecodesFromContractJSON() throws {
        let json = #"{"ok":true,"bootedAtMs":1700000000000,"lastActivityAtMs":1700000000500,"liveExecs":0,"version":"v"}"#
        let health = try WireJSON.decode(HealthResponse.self, from: Array(json.utf8))
        #expect(health == HealthResponse(ok: true, bootedAtMs: 1_700_000_000_000, lastActivityAtMs: 1_700_000_000_500,
                                         liveExecs: 0, version: "v"))
    }

    @Test func execStatusRunning() throws {
        var status = ExecStatus(execId: "e1", state: .running)
        status.startedAtMs = 1_700_000_000_000
        #expect(try Self.text(status) == #"{"execId":"e1","startedAtMs":1700000000000,"state":"running"}"#)
    }

    @Test func execStatusExited() throws {
        var status = ExecStatus(execId: "e1", state: .exited)
        status.exitCode = 137
        #expect(try Self.text(status) == #"{"execId":"e1","exitCode":137,"state":"exited"}"#)
    }

    @Test func execStatusGone() throws {
        #expect(try Self.text(ExecStatus(execId: "e1", state: .gone)) == #"{"execId":"e1","state":"gone"}"#)
    }

    @Test func execStatusAdditionsUseCamelCaseNames() throws {
        var status = ExecStatus(execId: "e", state: .exited)
        status.exitCode = 1
        status.pid = 5
        status.endedAtMs = 9
        status.timedOut = true
        status.cancelled = false
        status.signal = "SIGKILL"
        status.lost = false
        status.failCode = .spawnFailed
        status.lastSeq = 4
        let dict = try Self.object(status)
        #expect(Self.keys(dict) == ["execId", "state", "exitCode", "pid", "endedAtMs", "timedOut", "cancelled", "signal",
                                    "lost", "failCode", "lastSeq"])
        #expect(dict["failCode"] as? String == "SPAWN_FAILED")
        #expect(try WireJSON.decode(ExecStatus.self, from: try WireJSON.encode(status)) == status)
    }

    @Test func smallBodiesEncodeExactly() throws {
        #expect(try Self.text(ReadyResponse()) == #"{"ok":true}"#)
        #expect(try Self.text(CancelResponse(killed: true)) == #"{"killed":true}"#)
        #expect(try Self.text(StdinResponse(ok: true)) == #"{"ok":true}"#)
        #expect(try Self.text(StdinResponse(ok: false, reason: .badLine)) == #"{"ok":false,"reason":"BAD_LINE"}"#)
        #expect(try Self.text(EnvResponse(denied: ["HOME"])) == #"{"denied":["HOME"],"ok":true}"#)
        #expect(try Self.text(ErrorBody(error: RunnerdErrorKind.unauthorized)) == #"{"error":"unauthorized"}"#)
        #expect(try Self.text(ErrorBody(error: RunnerdErrorKind.badRequest, message: "x")) == #"{"error":"bad_request","message":"x"}"#)
        #expect(try Self.text(ErrorBody(error: RunnerdErrorKind.stdinBusy)) == #"{"error":"stdin_busy"}"#)
        #expect(try Self.text(ErrorBody(error: RunnerdErrorKind.notATerminal)) == #"{"error":"not_a_pty"}"#)
    }

    @Test func stdinReasonsAndFailCodesMatchTheContract() {
        #expect([StdinRejectReason.notFound, .stdinClosed, .badLine, .writeFailed].map(\.rawValue)
            == ["NOT_FOUND", "STDIN_CLOSED", "BAD_LINE", "WRITE_FAILED"])
        #expect([ExecFailCode.badRequest, .duplicateExec, .invalidCwd, .execLimit, .spawnFailed].map(\.rawValue)
            == ["BAD_REQUEST", "DUPLICATE_EXEC", "INVALID_CWD", "EXEC_LIMIT", "SPAWN_FAILED"])
    }

    @Test func requestBodiesDecodeFromContractJSON() throws {
        let stdin = try WireJSON.decode(StdinRequest.self, from: Array(#"{"b64":"aGk=","eof":true}"#.utf8))
        #expect(stdin == StdinRequest(b64: "aGk=", eof: true))
        #expect(try WireJSON.decode(StdinRequest.self, from: Array("{}".utf8)) == StdinRequest())
        let patch = try WireJSON.decode(EnvPatch.self, from: Array(#"{"set":{"A":"1"},"unset":["B"]}"#.utf8))
        #expect(patch == EnvPatch(set: ["A": "1"], unset: ["B"]))
    }

    @Test func limitsMatchTheContract() {
        #expect(Limits.maxRequestBodyBytes == 4 * 1024 * 1024)
        #expect(Limits.replayRingBytes == 256 * 1024)
        #expect(Limits.consumerMaxUnsentBytes == 8 * 1024 * 1024)
        #expect(Limits.envMaxEntries == 128)
        #expect(Limits.envMaxValueBytes == 32 * 1024)
        #expect(Limits.stdinMaxWriteBytes == 64 * 1024)
        #expect(Limits.inlineFileMaxBytes == 1024 * 1024)
        #expect(Limits.urlFetchMaxBytes == 100 * 1024 * 1024)
        #expect(Limits.fileReadMaxBytes == 20 * 1024 * 1024)
        #expect(Limits.finishedExecsRetained >= 16)
        #expect(Limits.defaultMaxLiveExecs == 16)
        #expect(Limits.defaultKillGraceMs == 5_000)
    }
}
