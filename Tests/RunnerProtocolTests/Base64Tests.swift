import Foundation
import NIOCore
import RunnerProtocol
import Testing

/// A deterministic PRNG so that failures reproduce.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func randomBytes(_ count: Int, _ rng: inout SplitMix64) -> [UInt8] {
    (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
}

@Suite struct Base64Tests {
    @Test func encodeAndDecodeMatchFoundationForLengths0Through300() throws {
        var rng = SplitMix64(seed: 0xB64)
        for length in 0...300 {
            let bytes = randomBytes(length, &rng)
            let expected = Data(bytes).base64EncodedString()
            let encoded = Base64.encode(bytes)
            #expect(encoded == expected, "length \(length)")
            #expect(encoded.utf8.count == Base64.encodedLength(length), "length \(length)")
            #expect(Base64.decode(expected) == bytes, "length \(length)")
            // Unpadded input decodes too.
            let unpadded = String(expected.reversed().drop(while: { $0 == "=" }).reversed())
            #expect(Base64.decode(unpadded) == bytes, "unpadded length \(length)")
            // And what we encode, Foundation reads back.
            #expect(Data(base64Encoded: encoded).map(Array.init) == bytes, "length \(length)")
        }
    }

    @Test func oneMebibyteBufferRoundTrips() throws {
        var rng = SplitMix64(seed: 42)
        let bytes = randomBytes(1 << 20, &rng)
        let expected = Data(bytes).base64EncodedString()
        let encoded = Base64.encode(bytes)
        #expect(encoded.utf8.count == Base64.encodedLength(1 << 20))
        #expect(encoded == expected)
        let decoded = try #require(Base64.decode(expected))
        #expect(decoded.count == bytes.count)
        #expect(decoded == bytes)
    }

    @Test func allByteValuesRoundTrip() {
        let bytes = (0...255).map { UInt8($0) }
        #expect(Base64.encode(bytes) == Data(bytes).base64EncodedString())
        #expect(Base64.decode(Base64.encode(bytes)) == bytes)
    }

    @Test func encodeIntoAppendsAfterExistingContent() {
        var buffer = ByteBufferAllocator().buffer(capacity: 0)
        buffer.writeString("prefix:")
        Array("hello".utf8).withUnsafeBytes { Base64.encode($0, into: &buffer) }
        Array("".utf8).withUnsafeBytes { Base64.encode($0, into: &buffer) }
        buffer.writeString(":suffix")
        #expect(String(buffer: buffer) == "prefix:aGVsbG8=:suffix")
    }

    @Test func knownVectorsFromRFC4648() {
        let vectors = [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="),
                       ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")]
        for (plain, encoded) in vectors {
            #expect(Base64.encode(Array(plain.utf8)) == encoded)
            #expect(Base64.decode(encoded) == Array(plain.utf8))
        }
    }

    @Test func encodedLength() {
        #expect(Base64.encodedLength(0) == 0)
        #expect(Base64.encodedLength(1) == 4)
        #expect(Base64.encodedLength(2) == 4)
        #expect(Base64.encodedLength(3) == 4)
        #expect(Base64.encodedLength(4) == 8)
        #expect(Base64.encodedLength(65536) == 87384)
    }

    @Test(arguments: [
        "A",          // 1 mod 4 data characters
        "ABCDE",      // 1 mod 4
        "=",          // padding only
        "==",
        "====",
        "A===",       // three pad characters
        "AAAA====",   // four pad characters
        "AB=",        // padding that does not complete a quantum
        "ABC==",      // too much padding for its length
        "ABCD=",      // padding after a full quantum
        "AB=C",       // padding in the middle
        "AB==AB==",   // padding in the middle of the string
        "AB*C",       // not in the alphabet
        "AB C",       // whitespace
        "ABCD\n",     // trailing newline
        " ABCD",
        "-_-_",       // base64url alphabet is not accepted
        "ÀBCD",       // non-ASCII
        "ABC\u{0}",   // NUL
    ])
    func invalidInputReturnsNil(_ input: String) {
        #expect(Base64.decode(input) == nil)
    }

    @Test func emptyInputDecodesToEmpty() {
        #expect(Base64.decode("") == [])
    }
}
