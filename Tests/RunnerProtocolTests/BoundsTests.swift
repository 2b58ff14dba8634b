import RunnerProtocol
import Testing

@Suite(.timeLimit(.minutes(1))) struct BoundsTests {
    @Test func sequenceNumbersAreAnyNonNegativeIntegerAndSaturate() {
        #expect(Bounds.sequenceNumber("0") == 0)
        #expect(Bounds.sequenceNumber("42") == 42)
        #expect(Bounds.sequenceNumber("00000000000000000000001") == 1)
        #expect(Bounds.sequenceNumber("18446744073709551615") == .max)
        #expect(Bounds.sequenceNumber("18446744073709551616") == .max, "past UInt64.max is past every seq")
        #expect(Bounds.sequenceNumber(String(repeating: "9", count: 500)) == .max)
        for bad in ["", "-1", "+1", " 1", "1 ", "1.0", "1e3", "0x10", "abc", "１"] {
            #expect(Bounds.sequenceNumber(bad) == nil, "\(bad.debugDescription)")
        }
    }

    static func decode(_ fields: String) -> Result<ExecRequest, RequestDecodingError> {
        WireJSON.decodeRequest(ExecRequest.self, from: Array(#"{"execId":"e","command":["true"],\#(fields)}"#.utf8))
    }

    static let inRange = #""timeoutMs":0,"stdoutMaxBytes":0,"stderrMaxBytes":0"#

    @Test(arguments: [
        ("timeoutMs", "-1"), ("timeoutMs", "2592000001"), ("timeoutMs", "9223372036854775807"), ("timeoutMs", "9223372036854775808"),
        ("timeoutMs", "18446744073709551616"), ("timeoutMs", "1e308"), ("timeoutMs", "-1e308"), ("timeoutMs", "1.5"),
        ("stdoutMaxBytes", "-1"), ("stdoutMaxBytes", "9223372036854775808"), ("stdoutMaxBytes", "1e308"),
        ("stderrMaxBytes", "-9223372036854775808"), ("killGraceMs", "-1"), ("killGraceMs", "600001"),
        ("killGraceMs", "9223372036854775807"),
    ])
    func numbersOutOfRangeAreOutOfRange(_ field: String, _ value: String) {
        var fields = ["timeoutMs": "0", "stdoutMaxBytes": "0", "stderrMaxBytes": "0"]
        fields[field] = value
        let json = fields.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",")
        let result = Self.decode(json)
        guard case .failure(.outOfRange(let message)) = result else {
            Issue.record("\(field)=\(value): expected outOfRange, got \(result)")
            return
        }
        #expect(message.hasPrefix(field + " must be an integer in "), "\(message)")
    }

    @Test func theBoundsThemselvesAreInRange() throws {
        let request = try Self.decode(#""timeoutMs":2592000000,"stdoutMaxBytes":9223372036854775807,"stderrMaxBytes":0,"killGraceMs":600000"#).get()
        #expect(request.timeoutMs == 2_592_000_000)
        #expect(request.stdoutMaxBytes == .max)
        #expect(request.killGraceMs == 600_000)
        #expect(request.validationError() == nil)
        #expect(try Self.decode(Self.inRange + #","killGraceMs":null"#).get().killGraceMs == nil)
    }

    @Test func wrongTypesStayInvalidNotOutOfRange() {
        for fields in [#""timeoutMs":"5","stdoutMaxBytes":0,"stderrMaxBytes":0"#, #""timeoutMs":[],"stdoutMaxBytes":0,"stderrMaxBytes":0"#,
            Self.inRange + #","killGraceMs":true"#, #""stdoutMaxBytes":0,"stderrMaxBytes":0"#]
        {
            guard case .failure(.invalid) = Self.decode(fields) else {
                Issue.record("\(fields): expected invalid, got \(Self.decode(fields))")
                continue
            }
        }
    }

    @Test func validationAppliesTheSameBoundsToRequestsBuiltInCode() {
        #expect(ExecRequest(execId: "a", command: ["x"], timeoutMs: 2_592_000_001).validationError()?.hasPrefix("timeoutMs") == true)
        #expect(ExecRequest(execId: "a", command: ["x"], killGraceMs: .max).validationError()?.hasPrefix("killGraceMs") == true)
        #expect(ExecRequest(execId: "a", command: ["x"], stderrMaxBytes: .min).validationError()?.hasPrefix("stderrMaxBytes") == true)
    }

    /// What is encoded decodes back unchanged (the custom decoder reads every field).
    @Test func everyFieldRoundTrips() throws {
        let request = ExecRequest(
            execId: "e1", shell: "echo", cwd: "sub", env: ["A": "1"], timeoutMs: 5, stdoutMaxBytes: 6, stderrMaxBytes: 7,
            stdinMode: .hold, stdinBase64: "aGk=", killGraceMs: 8)
        #expect(try WireJSON.decodeRequest(ExecRequest.self, from: WireJSON.encode(request)).get() == request)
    }
}
