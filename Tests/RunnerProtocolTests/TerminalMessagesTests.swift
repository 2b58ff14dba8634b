import RunnerProtocol
import Testing

@Suite(.timeLimit(.minutes(2))) struct TerminalMessagesTests {
    /// nil for an accepted signature.
    func rejection(_ result: Result<Void, HMACSigner.Rejection>) -> HMACSigner.Rejection? {
        if case .failure(let rejection) = result { return rejection }
        return nil
    }

    @Test func signalNamesWithOrWithoutSIGInAnyCase() {
        #expect(ContractSignal(name: "INT") == .int)
        #expect(ContractSignal(name: "SIGINT") == .int)
        #expect(ContractSignal(name: "sigHup") == .hup)
        #expect(ContractSignal(name: "winch") == .winch)
        for bad in ["", "SIG", "SEGV", "SIGSEGV", "9", "INT ", "SIGSIGINT", "KILLALL"] {
            #expect(ContractSignal(name: bad) == nil, "\(bad)")
        }
        #expect(ContractSignal.allCases.map(\.rawValue) == ["HUP", "INT", "QUIT", "TERM", "KILL", "USR1", "USR2", "CONT", "STOP", "WINCH"])
        #expect(ContractSignal.usr1.fullName == "SIGUSR1")
    }

    @Test func terminalSizesAreOneToAThousand() {
        #expect(TerminalSize(cols: 1, rows: 1).rangeError == nil)
        #expect(TerminalSize(cols: 1000, rows: 1000).rangeError == nil)
        #expect(TerminalSize(cols: 0, rows: 24).rangeError != nil)
        #expect(TerminalSize(cols: 80, rows: 1001).rangeError != nil)
        #expect(TerminalSize(cols: -80, rows: 24).rangeError != nil)
        var request = ExecRequest(execId: "x", command: ["sh"])
        request.pty = TerminalSize(cols: 0, rows: 0)
        #expect(request.validationError() != nil)
        request.pty = TerminalSize(cols: 80, rows: 24)
        #expect(request.validationError() == nil)
    }

    @Test func presignedQueriesVerifyAndExpire() throws {
        let signer = HMACSigner(secret: Array("secret".utf8))
        let now: Int64 = 1_800_000_000_000
        let url = signer.presign(pathWithQuery: "/v1/sessions/s1/terminal?cols=80&rows=24", nowMs: now)
        #expect(url.hasPrefix("/v1/sessions/s1/terminal?cols=80&rows=24&ts=\(now)&sig=v1%3D"))
        #expect(rejection(signer.verifyPresigned(pathWithQuery: url, nowMs: now)) == nil)
        // 60 s, not the headers' 5 minutes (contract v1.2 §4), either way.
        #expect(HMACSigner.presignedMaxAgeMs == 60_000)
        #expect(rejection(signer.verifyPresigned(pathWithQuery: url, nowMs: now + 60_000)) == nil)
        #expect(rejection(signer.verifyPresigned(pathWithQuery: url, nowMs: now + 60_001)) == .stale)
        #expect(rejection(signer.verifyPresigned(pathWithQuery: url, nowMs: now - 60_001)) == .future)
        #expect(rejection(signer.verifyPresigned(pathWithQuery: url, nowMs: now + HMACSigner.maxSkewMs + 1)) == .stale)
        let claim = try signer.presignedClaim(pathWithQuery: url, nowMs: now).get()
        #expect(claim.timestampMs == now && claim.signatureBytes.count == 32)
        // Any change to what was signed breaks it.
        #expect(rejection(signer.verifyPresigned(pathWithQuery: url.replacing("cols=80", with: "cols=81"), nowMs: now)) == .badSignature)
        #expect(rejection(signer.verifyPresigned(pathWithQuery: url.replacing("/s1/", with: "/s2/"), nowMs: now)) == .badSignature)
        #expect(rejection(signer.verifyPresigned(pathWithQuery: url + "&execId=x", nowMs: now)) == .badSignature)
        #expect(rejection(signer.verifyPresigned(method: "POST", pathWithQuery: url, nowMs: now)) == .badSignature)
        #expect(rejection(HMACSigner(secret: Array("other".utf8)).verifyPresigned(pathWithQuery: url, nowMs: now)) == .badSignature)
        // Missing or doubled parameters.
        #expect(rejection(signer.verifyPresigned(pathWithQuery: "/v1/sessions/s1/terminal", nowMs: now)) == .missing)
        #expect(rejection(signer.verifyPresigned(pathWithQuery: url + "&ts=\(now)", nowMs: now)) == .missing)
        #expect(rejection(signer.verifyPresigned(pathWithQuery: url + "&sig=v1=00", nowMs: now)) == .missing)
        // The signature is over GET, the path with the query minus sig, T and the empty body.
        let bare = signer.presign(pathWithQuery: "/p", nowMs: now)
        let expected = signer.signature(method: "GET", pathWithQuery: "/p?ts=\(now)", timestampMs: now, body: [UInt8]())
        #expect(bare == "/p?ts=\(now)&sig=" + expected.replacing("=", with: "%3D"))
        #expect(rejection(signer.verifyPresigned(pathWithQuery: "/p?ts=\(now)&sig=" + expected, nowMs: now)) == nil, "an unescaped = is fine too")
    }

    @Test func terminalFramesRoundTrip() throws {
        let resize = try WireJSON.decode(TerminalFrame.Client.self, from: Array(#"{"resize":{"cols":100,"rows":30}}"#.utf8))
        #expect(resize == TerminalFrame.Client(resize: TerminalSize(cols: 100, rows: 30)))
        let signal = try WireJSON.decode(TerminalFrame.Client.self, from: Array(#"{"signal":"INT"}"#.utf8))
        #expect(signal.signal == "INT")
        let exit = TerminalFrame.Server(exit: .init(exitCode: 0, durationMs: 5, truncated: .init(stdout: false, stderr: false), timedOut: false, cancelled: false))
        #expect(String(decoding: try WireJSON.encode(exit), as: UTF8.self).hasPrefix(#"{"exit":{"cancelled":false,"durationMs":5,"exitCode":0"#))
    }
}
