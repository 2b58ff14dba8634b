import RunnerProtocol
import Testing

@Suite(.timeLimit(.minutes(2))) struct ExecRequestTests {
    @Test func validRequestsHaveNoError() {
        #expect(ExecRequest(execId: "a", command: ["ls", "-l"]).validationError() == nil)
        #expect(ExecRequest(execId: "a", shell: "echo hi").validationError() == nil)
        #expect(ExecRequest(execId: "a", shell: "").validationError() == nil)
        #expect(ExecRequest(execId: String(repeating: "x", count: 64), command: ["true"], cwd: "sub",
                            env: ["FOO": "bar"], timeoutMs: 1000, stdoutMaxBytes: 10, stderrMaxBytes: 0,
                            stdinMode: .close, stdinBase64: "aGk=", killGraceMs: 0).validationError() == nil)
        #expect(ExecRequest(execId: "a", command: ["cat"], stdinBase64: "").validationError() == nil)
    }

    @Test func commandAndShellAreExclusiveAndOneIsRequired() throws {
        let both = try #require(ExecRequest(execId: "a", command: ["ls"], shell: "ls").validationError())
        #expect(both.contains("mutually exclusive"))
        let neither = try #require(ExecRequest(execId: "a").validationError())
        #expect(neither.contains("required"))
    }

    @Test func emptyArgvIsRejected() {
        #expect(ExecRequest(execId: "a", command: []).validationError() != nil)
        #expect(ExecRequest(execId: "a", command: [""]).validationError() != nil)
        #expect(ExecRequest(execId: "a", command: ["ls", "a\u{0}b"]).validationError() != nil)
        #expect(ExecRequest(execId: "a", shell: "echo \u{0}").validationError() != nil)
    }

    @Test(arguments: ["", "a b", "a/b", String(repeating: "a", count: 65), "é"])
    func badExecIDIsRejected(_ id: String) throws {
        let error = try #require(ExecRequest(execId: id, command: ["ls"]).validationError())
        #expect(error.contains("execId"))
    }

    @Test func negativeCapsAndTimeoutsAreRejected() {
        #expect(ExecRequest(execId: "a", command: ["ls"], timeoutMs: -1).validationError() != nil)
        #expect(ExecRequest(execId: "a", command: ["ls"], stdoutMaxBytes: -1).validationError() != nil)
        #expect(ExecRequest(execId: "a", command: ["ls"], stderrMaxBytes: -1).validationError() != nil)
        #expect(ExecRequest(execId: "a", command: ["ls"], killGraceMs: -1).validationError() != nil)
        #expect(ExecRequest(execId: "a", command: ["ls"], timeoutMs: 0, stdoutMaxBytes: 0, stderrMaxBytes: 0,
                            killGraceMs: 0).validationError() == nil)
    }

    @Test(arguments: ["!!!", "A", "aGk==", "aG k=", "a\u{0}"])
    func badStdinBase64IsRejected(_ b64: String) throws {
        let error = try #require(ExecRequest(execId: "a", command: ["cat"], stdinBase64: b64).validationError())
        #expect(error.contains("stdinBase64"))
    }

    @Test func malformedEnvAndCwdAreRejected() {
        #expect(ExecRequest(execId: "a", command: ["ls"], env: ["A=B": "x"]).validationError() != nil)
        #expect(ExecRequest(execId: "a", command: ["ls"], env: ["": "x"]).validationError() != nil)
        #expect(ExecRequest(execId: "a", command: ["ls"], env: ["A": "x\u{0}"]).validationError() != nil)
        #expect(ExecRequest(execId: "a", command: ["ls"], cwd: "a\u{0}").validationError() != nil)
        // Denied names are not a validation error: they are ignored when the child env is built.
        #expect(ExecRequest(execId: "a", command: ["ls"], env: ["PATH": "/x"]).validationError() == nil)
    }

    @Test func fullRequestDecodes() throws {
        let json = #"""
        {"execId":"e1","command":["ls","-la"],"cwd":"sub","env":{"A":"1"},"timeoutMs":5000,
         "stdoutMaxBytes":100,"stderrMaxBytes":0,"stdinMode":"hold","stdinBase64":"aGk="}
        """#
        let result = WireJSON.decodeRequest(ExecRequest.self, from: Array(json.utf8))
        let request = try result.get()
        #expect(request == ExecRequest(execId: "e1", command: ["ls", "-la"], cwd: "sub", env: ["A": "1"], timeoutMs: 5000,
                                       stdoutMaxBytes: 100, stderrMaxBytes: 0, stdinMode: .hold, stdinBase64: "aGk="))
    }

    @Test func missingTimeoutIsInvalidNotMalformed() throws {
        let json = #"{"execId":"e1","command":["ls"],"stdoutMaxBytes":0,"stderrMaxBytes":0}"#
        let result = WireJSON.decodeRequest(ExecRequest.self, from: Array(json.utf8))
        guard case .failure(.invalid(let message)) = result else {
            Issue.record("expected .invalid, got \(result)")
            return
        }
        #expect(message.contains("timeoutMs"))
    }

    @Test func wrongTypeIsInvalid() {
        let json = #"{"execId":"e1","command":"ls","timeoutMs":0,"stdoutMaxBytes":0,"stderrMaxBytes":0}"#
        guard case .failure(.invalid) = WireJSON.decodeRequest(ExecRequest.self, from: Array(json.utf8)) else {
            Issue.record("expected .invalid")
            return
        }
        let badMode = #"{"execId":"e1","shell":"x","timeoutMs":0,"stdoutMaxBytes":0,"stderrMaxBytes":0,"stdinMode":"open"}"#
        guard case .failure(.invalid) = WireJSON.decodeRequest(ExecRequest.self, from: Array(badMode.utf8)) else {
            Issue.record("expected .invalid for an unknown stdinMode")
            return
        }
    }

    @Test(arguments: ["not json", "", "{", #"{"execId":}"#, "{'execId':'a'}"])
    func nonJSONIsMalformed(_ body: String) {
        let result = WireJSON.decodeRequest(ExecRequest.self, from: Array(body.utf8))
        guard case .failure(.malformed) = result else {
            Issue.record("expected .malformed for \(body.debugDescription), got \(result)")
            return
        }
    }
}
