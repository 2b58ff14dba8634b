import RunnerProtocol
import Testing

@Suite(.timeLimit(.minutes(2))) struct IdentifierTests {
    @Test func execIDLengthBounds() {
        #expect(!Identifier.isValidExecID(""))
        #expect(Identifier.isValidExecID("a"))
        #expect(Identifier.isValidExecID(String(repeating: "a", count: 63)))
        #expect(Identifier.isValidExecID(String(repeating: "a", count: 64)))
        #expect(!Identifier.isValidExecID(String(repeating: "a", count: 65)))
    }

    @Test(arguments: ["abc", "ABC", "a1_B2-c3", "-", "_", "0", "exec-2024_01", "Z9z0"])
    func execIDAllowedCharacters(_ id: String) {
        #expect(Identifier.isValidExecID(id))
    }

    @Test(arguments: ["a.b", "a b", "a/b", "a\\b", "é", "a\n", "a:b", "a%20", "a+b", "a\u{0}", "日本", "🎉", "a=b", "..", "a@b"])
    func execIDForbiddenCharacters(_ id: String) {
        #expect(!Identifier.isValidExecID(id))
    }

    @Test func execIDCountsBytesNotCharacters() {
        // 32 two-byte characters would be 32 Characters but 64 bytes; they are forbidden anyway,
        // but the length must never be measured in Characters.
        #expect(!Identifier.isValidExecID(String(repeating: "é", count: 32)))
    }

    @Test func sessionIDLengthBounds() {
        #expect(!Identifier.isValidSessionID(""))
        #expect(Identifier.isValidSessionID("a"))
        #expect(Identifier.isValidSessionID(String(repeating: "a", count: 63)))
        #expect(!Identifier.isValidSessionID(String(repeating: "a", count: 64)))
    }

    @Test(arguments: ["abc", "a-b-c", "0123", "sess-1", "-"])
    func sessionIDAllowedCharacters(_ id: String) {
        #expect(Identifier.isValidSessionID(id))
    }

    @Test(arguments: ["ABC", "a_b", "a.b", "a b", "Sess", "a/b", "é", "a\n"])
    func sessionIDForbiddenCharacters(_ id: String) {
        #expect(!Identifier.isValidSessionID(id))
    }
}
