import CBase64
import NIOCore

/// Standard (RFC 4648, padded) base64, written straight into `ByteBuffer`s.
///
/// Every byte an exec writes crosses this code twice (runnerd encodes, the client decodes), so
/// both directions are table-driven and word-at-a-time: the encoder turns 6 input bytes into 8
/// characters with four lookups in a 12-bit pair table and one 8-byte store; the decoder ORs
/// four pre-shifted 32-bit lookups per 4 characters, which also flags any invalid character.
public enum Base64 {
    @usableFromInline static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Two characters for each 12-bit value, first character in the low byte.
    static let pairs: [UInt16] = (0..<4096).map { UInt16(alphabet[$0 >> 6]) | UInt16(alphabet[$0 & 63]) << 8 }

    /// A character's 6 bits, or 0xFF.
    static let reverse: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        return table
    }()

    /// Per position in a quad, each character's bits already placed in the 3 output bytes (in
    /// little-endian order); an invalid character sets bit 24.
    static let decodeTables: [UInt32] = {
        var tables = [UInt32](repeating: 0x0100_0000, count: 4 * 256)
        for (value, char) in alphabet.enumerated() {
            let v = UInt32(value)
            tables[0 * 256 + Int(char)] = v << 2
            tables[1 * 256 + Int(char)] = (v >> 4) | (v & 0x0F) << 12
            tables[2 * 256 + Int(char)] = (v >> 2) << 8 | (v & 0x03) << 22
            tables[3 * 256 + Int(char)] = v << 16
        }
        return tables
    }()

    /// Encoded length of `count` bytes.
    public static func encodedLength(_ count: Int) -> Int { ((count + 2) / 3) * 4 }

    /// How many bytes `encoded` stands for, from its length and padding alone (what a size
    /// check needs before decoding: 65,536 and 65,537 bytes have the same padded length).
    public static func decodedLength(_ encoded: String) -> Int {
        let utf8 = encoded.utf8
        let padding = utf8.reversed().prefix(2).prefix { $0 == UInt8(ascii: "=") }.count
        return (utf8.count / 4) * 3 + max(0, utf8.count % 4 - 1) - padding
    }

    /// Appends the base64 of `bytes` to `buffer`.
    public static func encode(_ bytes: UnsafeRawBufferPointer, into buffer: inout ByteBuffer) {
        let outLength = encodedLength(bytes.count)
        guard outLength > 0 else { return }
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: outLength) { out in
            pairs.withUnsafeBufferPointer { pairs in
                encode(bytes.baseAddress!, count: bytes.count, to: out.baseAddress!, pairs: pairs.baseAddress!)
            }
            return outLength
        }
    }

    private static func encode(_ input: UnsafeRawPointer, count n: Int, to out: UnsafeMutableRawPointer, pairs: UnsafePointer<UInt16>) {
        // Whole 12-byte blocks go to the vector encoder where the CPU has one; the rest here.
        var i = rd_base64_encode_blocks(input.assumingMemoryBound(to: UInt8.self), n, out.assumingMemoryBound(to: UInt8.self))
        var o = i / 3 * 4
        // 6 bytes → 8 characters; the 8-byte load reads 2 bytes ahead, so stop 8 before the end.
        while i + 8 <= n {
            let word = UInt64(bigEndian: input.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            let chars = UInt64(pairs[Int(truncatingIfNeeded: (word >> 52) & 0xFFF)])
                | UInt64(pairs[Int(truncatingIfNeeded: (word >> 40) & 0xFFF)]) << 16
                | UInt64(pairs[Int(truncatingIfNeeded: (word >> 28) & 0xFFF)]) << 32
                | UInt64(pairs[Int(truncatingIfNeeded: (word >> 16) & 0xFFF)]) << 48
            out.storeBytes(of: chars.littleEndian, toByteOffset: o, as: UInt64.self)
            i += 6
            o += 8
        }
        func byte(_ index: Int) -> Int { Int(input.load(fromByteOffset: index, as: UInt8.self)) }
        while i + 3 <= n {
            let v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2)
            out.storeBytes(of: pairs[v >> 12].littleEndian, toByteOffset: o, as: UInt16.self)
            out.storeBytes(of: pairs[v & 0xFFF].littleEndian, toByteOffset: o + 2, as: UInt16.self)
            i += 3
            o += 4
        }
        let rest = n - i
        guard rest > 0 else { return }
        let v = byte(i) << 16 | (rest == 2 ? byte(i + 1) << 8 : 0)
        out.storeBytes(of: alphabet[v >> 18], toByteOffset: o, as: UInt8.self)
        out.storeBytes(of: alphabet[(v >> 12) & 63], toByteOffset: o + 1, as: UInt8.self)
        out.storeBytes(of: rest == 2 ? alphabet[(v >> 6) & 63] : UInt8(ascii: "="), toByteOffset: o + 2, as: UInt8.self)
        out.storeBytes(of: UInt8(ascii: "="), toByteOffset: o + 3, as: UInt8.self)
    }

    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        var buffer = ByteBufferAllocator().buffer(capacity: encodedLength(bytes.count))
        Array(bytes).withUnsafeBytes { encode($0, into: &buffer) }
        return buffer.readString(length: buffer.readableBytes) ?? ""
    }

    /// Decodes padded or unpadded base64; `nil` on any invalid character or length.
    public static func decode(_ encoded: UnsafeRawBufferPointer) -> [UInt8]? {
        var end = encoded.count
        while end > 0 && encoded[end - 1] == UInt8(ascii: "=") { end -= 1 }
        guard encoded.count - end <= 2, end % 4 != 1 else { return nil }
        if encoded.count % 4 != 0 && end != encoded.count { return nil }
        let outLength = end / 4 * 3 + (end % 4 == 0 ? 0 : end % 4 - 1)
        guard outLength > 0 else { return [] }
        var valid = true
        // One spare byte: every full quad is stored as a 4-byte word.
        let result = [UInt8](unsafeUninitializedCapacity: outLength + 1) { out, initialized in
            valid = decodeTables.withUnsafeBufferPointer { tables in
                decode(encoded.baseAddress!, count: end, to: out.baseAddress!, tables: tables.baseAddress!)
            }
            initialized = valid ? outLength : 0
        }
        return valid ? result : nil
    }

    /// Decodes `count` characters (no padding) into `out`, which has room for one spare byte.
    private static func decode(_ input: UnsafeRawPointer, count end: Int, to out: UnsafeMutablePointer<UInt8>, tables: UnsafePointer<UInt32>) -> Bool {
        func char(_ index: Int) -> Int { Int(input.load(fromByteOffset: index, as: UInt8.self)) }
        let raw = UnsafeMutableRawPointer(out)
        var i = 0
        var o = 0
        var bad: UInt32 = 0
        while i + 4 <= end {
            let word = tables[char(i)] | tables[256 + char(i + 1)] | tables[512 + char(i + 2)] | tables[768 + char(i + 3)]
            bad |= word
            raw.storeBytes(of: word.littleEndian, toByteOffset: o, as: UInt32.self)
            i += 4
            o += 3
        }
        let rest = end - i
        if rest >= 2 {
            // 2 characters make 1 byte, 3 make 2; leftover bits are dropped, as RFC 4648 allows.
            var word = tables[char(i)] | tables[256 + char(i + 1)]
            if rest == 3 { word |= tables[512 + char(i + 2)] }
            bad |= word
            out[o] = UInt8(truncatingIfNeeded: word)
            if rest == 3 { out[o + 1] = UInt8(truncatingIfNeeded: word >> 8) }
        }
        return bad & 0xFF00_0000 == 0
    }

    public static func decode(_ encoded: String) -> [UInt8]? {
        var encoded = encoded
        return encoded.withUTF8 { decode(UnsafeRawBufferPointer($0)) }
    }
}
