import NIOCore

/// Standard (RFC 4648, padded) base64, written straight into `ByteBuffer`s: the exec stream
/// carries every output byte through it, so it avoids intermediate Strings.
public enum Base64 {
    @usableFromInline static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    @usableFromInline static let reverse: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        return table
    }()

    /// Encoded length of `count` bytes.
    public static func encodedLength(_ count: Int) -> Int { ((count + 2) / 3) * 4 }

    /// Appends the base64 of `bytes` to `buffer`.
    public static func encode(_ bytes: UnsafeRawBufferPointer, into buffer: inout ByteBuffer) {
        let outLength = encodedLength(bytes.count)
        guard outLength > 0 else { return }
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: outLength) { out in
            alphabet.withUnsafeBufferPointer { table in
                var i = 0
                var o = 0
                let n = bytes.count
                while i + 3 <= n {
                    let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
                    out[o] = table[Int(v >> 18)]
                    out[o + 1] = table[Int((v >> 12) & 63)]
                    out[o + 2] = table[Int((v >> 6) & 63)]
                    out[o + 3] = table[Int(v & 63)]
                    i += 3
                    o += 4
                }
                let rest = n - i
                if rest > 0 {
                    let b0 = UInt32(bytes[i])
                    let b1 = rest == 2 ? UInt32(bytes[i + 1]) : 0
                    let v = b0 << 16 | b1 << 8
                    out[o] = table[Int(v >> 18)]
                    out[o + 1] = table[Int((v >> 12) & 63)]
                    out[o + 2] = rest == 2 ? table[Int((v >> 6) & 63)] : UInt8(ascii: "=")
                    out[o + 3] = UInt8(ascii: "=")
                }
            }
            return outLength
        }
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
        return reverse.withUnsafeBufferPointer { table -> [UInt8]? in
            var valid = true
            let result = [UInt8](unsafeUninitializedCapacity: outLength) { out, initialized in
                var i = 0
                var o = 0
                while i + 4 <= end {
                    let a = table[Int(encoded[i])], b = table[Int(encoded[i + 1])]
                    let c = table[Int(encoded[i + 2])], d = table[Int(encoded[i + 3])]
                    if (a | b | c | d) & 0xC0 != 0 { valid = false; break }
                    let v = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
                    out[o] = UInt8(truncatingIfNeeded: v >> 16)
                    out[o + 1] = UInt8(truncatingIfNeeded: v >> 8)
                    out[o + 2] = UInt8(truncatingIfNeeded: v)
                    i += 4
                    o += 3
                }
                let rest = end - i
                if valid && rest >= 2 {
                    let a = table[Int(encoded[i])], b = table[Int(encoded[i + 1])]
                    let c = rest == 3 ? table[Int(encoded[i + 2])] : 0
                    if (a | b | c) & 0xC0 != 0 {
                        valid = false
                    } else {
                        let v = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6
                        out[o] = UInt8(truncatingIfNeeded: v >> 16)
                        o += 1
                        if rest == 3 {
                            out[o] = UInt8(truncatingIfNeeded: v >> 8)
                            o += 1
                        }
                    }
                }
                initialized = valid ? o : 0
            }
            return valid ? result : nil
        }
    }

    public static func decode(_ encoded: String) -> [UInt8]? {
        var encoded = encoded
        return encoded.withUTF8 { decode(UnsafeRawBufferPointer($0)) }
    }
}
