import CBase64
import Foundation
import NIOCore
import RunnerProtocol
import TestSupport
import Testing

func randomBytes(_ count: Int, _ rng: inout SplitMix64) -> [UInt8] {
    (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
}

@Suite(.timeLimit(.minutes(2))) struct Base64Tests {
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

    /// The length a size check reads off the text: exact for every length, padded or not, and
    /// apart for 64 KiB and 64 KiB + 1 (whose padded texts are equally long).
    @Test func decodedLength() {
        for length in Array(0...40) + [65535, 65536, 65537, 65538] {
            let encoded = Base64.encode([UInt8](repeating: 0x5A, count: length))
            #expect(Base64.decodedLength(encoded) == length, "length \(length)")
            let unpadded = String(encoded.prefix { $0 != "=" })
            #expect(Base64.decodedLength(unpadded) == length, "unpadded length \(length)")
        }
        #expect(Base64.encodedLength(65536) == Base64.encodedLength(65537))
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

    /// The word-at-a-time paths: an invalid character anywhere in a long input, including the
    /// fast loop's every lane and the tail, makes the whole decode fail.
    @Test func invalidCharacterAtAnyPositionOfALongInputIsRejected() {
        var rng = SplitMix64(seed: 7)
        for length in [30, 31, 32, 33, 64, 65, 66, 100] {
            let encoded = Array(Base64.encode(randomBytes(length, &rng)).utf8)
            let dataEnd = encoded.firstIndex(of: UInt8(ascii: "=")) ?? encoded.count
            for position in 0..<dataEnd {
                // "=" in one of the last two data places can make a valid shorter encoding.
                for bad in [UInt8(ascii: "*"), 0, 0x80, 0xFF] + (position < dataEnd - 2 ? [UInt8(ascii: "=")] : []) {
                    var corrupt = encoded
                    corrupt[position] = bad
                    #expect(corrupt.withUnsafeBytes { Base64.decode($0) } == nil, "length \(length) position \(position) byte \(bad)")
                }
            }
        }
    }

    /// Encoding from an unaligned, odd-length slice of a larger buffer reads nothing outside it.
    @Test func encodeOfSlicesMatchesFoundation() {
        var rng = SplitMix64(seed: 9)
        let big = randomBytes(4096, &rng)
        for start in 0..<9 {
            for length in [0, 1, 5, 6, 7, 8, 13, 1000, 4087 - start] {
                let slice = Array(big[start..<(start + length)])
                let encoded = big.withUnsafeBytes { raw -> String in
                    var buffer = ByteBufferAllocator().buffer(capacity: 0)
                    Base64.encode(UnsafeRawBufferPointer(rebasing: raw[start..<(start + length)]), into: &buffer)
                    return String(buffer: buffer)
                }
                #expect(encoded == Data(slice).base64EncodedString(), "start \(start) length \(length)")
            }
        }
    }

    /// The vector encoder takes whole 12-byte blocks while 16 bytes are left to load, and what it
    /// writes is what the scalar encoder writes (every lane, every 6-bit value: the lengths
    /// 0...300 above and the mebibyte go through it too).
    @Test func vectorEncoderTakesWholeBlocksAndMatchesFoundation() throws {
        #if arch(x86_64)
        var rng = SplitMix64(seed: 0x5553_5345)
        // Blocks start every 12 bytes while 16 remain: (n - 4) / 12 blocks once n reaches 16.
        for (length, taken) in [(0, 0), (15, 0), (16, 12), (27, 12), (28, 24), (100, 96), (4096, 4092)] {
            let bytes = randomBytes(length, &rng)
            var out = [UInt8](repeating: 0, count: length / 3 * 4 + 4)
            let consumed = rd_base64_encode_blocks(bytes, length, &out)
            #expect(consumed == taken, "length \(length)")
            let expected = Data(bytes[0..<consumed]).base64EncodedString()
            #expect(String(decoding: out[0..<(consumed / 3 * 4)], as: UTF8.self) == expected, "length \(length)")
        }
        // Every 6-bit value in every one of the 16 output positions of a block.
        for value in 0..<64 {
            for position in 0..<16 {
                var sextets = [UInt8](repeating: 0, count: 16)
                sextets[position] = UInt8(value)
                var bytes = [UInt8](repeating: 0, count: 16)
                for group in 0..<4 {
                    let bits = UInt32(sextets[4 * group]) << 18 | UInt32(sextets[4 * group + 1]) << 12 | UInt32(sextets[4 * group + 2]) << 6 | UInt32(sextets[4 * group + 3])
                    bytes[3 * group] = UInt8(truncatingIfNeeded: bits >> 16)
                    bytes[3 * group + 1] = UInt8(truncatingIfNeeded: bits >> 8)
                    bytes[3 * group + 2] = UInt8(truncatingIfNeeded: bits)
                }
                var out = [UInt8](repeating: 0, count: 20)
                #expect(rd_base64_encode_blocks(bytes, 16, &out) == 12)
                #expect(String(decoding: out[0..<16], as: UTF8.self) == Data(bytes[0..<12]).base64EncodedString(), "value \(value) at \(position)")
            }
        }
        #endif
    }

    @Test func emptyInputDecodesToEmpty() {
        #expect(Base64.decode("") == [])
    }
}
