import RunnerProtocol
import Testing

@Suite(.timeLimit(.minutes(2))) struct ConstantTimeTests {
    @Test func equalInputsAreEqual() {
        #expect(ConstantTime.equals([], []))
        #expect(ConstantTime.equals([1], [1]))
        #expect(ConstantTime.equals(Array("secret-token".utf8), Array("secret-token".utf8)))
        let big = (0..<10_000).map { UInt8(truncatingIfNeeded: $0) }
        #expect(ConstantTime.equals(big, big))
    }

    @Test func differentInputsAreNotEqual() {
        #expect(!ConstantTime.equals([1], [2]))
        #expect(!ConstantTime.equals(Array("secret-token".utf8), Array("secret-tokeN".utf8)))
        #expect(!ConstantTime.equals(Array("Xecret-token".utf8), Array("secret-token".utf8)))
    }

    @Test func differentLengthsAreNotEqual() {
        #expect(!ConstantTime.equals([], [0]))
        #expect(!ConstantTime.equals([0], []))
        #expect(!ConstantTime.equals(Array("secret".utf8), Array("secret-token".utf8)))
        #expect(!ConstantTime.equals(Array("secret-token".utf8), Array("secret".utf8)))
        #expect(!ConstantTime.equals([0, 0], [0]))
    }
}
