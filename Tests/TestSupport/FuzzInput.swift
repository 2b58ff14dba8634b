import Foundation
import TestSupport

/// Generated request parts for the fuzz tests: JSON values (well-formed, of the wrong type, at
/// the extremes, deeply nested, huge, invalid UTF-8), path segments, query values, headers.
/// Everything is built as raw bytes, so that what a client library would refuse to send is sent.
public struct FuzzInput {
    public var random: SplitMix64

    public init(seed: UInt64) { random = SplitMix64(seed: seed) }

    public mutating func chance(_ probability: Double) -> Bool {
        Double(random.next() >> 11) / Double(1 << 53) < probability
    }

    public mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &random) }

    public mutating func pick<T>(_ values: [T]) -> T { values[int(0...(values.count - 1))] }

    // MARK: Numbers

    /// Integer literals at and around every boundary a field could have.
    public static let extremeNumbers = [
        "0", "-0", "1", "-1", "2", "63", "64", "65", "255", "256", "1000", "1001", "65535", "65536",
        "2147483647", "2147483648", "-2147483648", "-2147483649", "4294967295", "4294967296",
        "2592000000", "2592000001", "9007199254740993",
        "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
        "18446744073709551615", "18446744073709551616", "99999999999999999999999999999999",
        "1e308", "-1e308", "1e309", "1.5", "0.0", "-0.0", "1E2", "5e-324", "1.0e3",
    ]

    /// A JSON number: mostly an extreme, sometimes a random 64-bit value.
    public mutating func number() -> [UInt8] {
        if chance(0.8) { return Array(pick(Self.extremeNumbers).utf8) }
        return Array(String(Int64(bitPattern: random.next()) >> UInt64(int(0...63))).utf8)
    }

    /// A field that should be an integer in `range`: inside it, or anything else.
    public mutating func integerField(_ range: ClosedRange<Int64>) -> [UInt8] {
        if chance(0.5) {
            let value = chance(0.5) ? pick([range.lowerBound, range.upperBound]) : Int64.random(in: range, using: &random)
            return Array(String(value).utf8)
        }
        return chance(0.8) ? number() : wrongType()
    }

    // MARK: Strings

    /// Characters that mean something to a path, a shell, a query or JSON.
    public static let pieces = [
        "a", "Z", "0", "-", "_", ".", "..", "/", "//", "\\", "%", "%00", "%2F", "%2e%2e", "?", "&", "=", "#", "+", " ",
        "~", "*", "$", "`", "'", "\"", "\n", "\r\n", "\t", "\u{0}", "\u{7F}", "é", "日本", "🧪", "\u{FEFF}", "\u{202E}",
        ".runnerd", "etc/passwd", "/proc/self/root", "../../..", "ä".decomposedStringWithCanonicalMapping,
    ]

    /// Raw string content (not yet quoted): short and odd, sometimes long, sometimes huge.
    public mutating func text(maxPieces: Int = 12) -> String {
        if chance(0.01) { return String(repeating: pick(["a", "é", "/", "%"]), count: int(100_000...1_500_000)) }
        if chance(0.05) { return String(repeating: "x", count: int(250...5000)) }
        var text = ""
        for _ in 0..<int(0...maxPieces) { text += pick(Self.pieces) }
        return text
    }

    /// A JSON string literal; sometimes with bytes that are not UTF-8 or escapes of lone surrogates.
    public mutating func jsonString(_ content: String? = nil) -> [UInt8] {
        let content = content ?? text()
        var bytes: [UInt8] = [UInt8(ascii: "\"")]
        bytes.reserveCapacity(content.utf8.count + 16)
        let hex = Array("0123456789abcdef".utf8)
        for byte in content.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                bytes.append(UInt8(ascii: "\\"))
                bytes.append(byte)
            case 0..<0x20, 0x7F:
                bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 15)]])
            default:
                bytes.append(byte)
            }
        }
        if chance(0.05) { bytes += pick([[0xFF], [0xC3], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0x80, 0x80]]) }
        if chance(0.03) { bytes += Array(pick([#"\ud800"#, #"\udfff"#, #"\u0000"#, #"\x"#, #"\u12"#]).utf8) }
        bytes.append(UInt8(ascii: "\""))
        return bytes
    }

    // MARK: Shapes

    /// Any JSON value of another type than the one expected, nesting included.
    public mutating func wrongType() -> [UInt8] {
        switch int(0...9) {
        case 0: return Array("null".utf8)
        case 1: return Array(pick(["true", "false"]).utf8)
        case 2: return number()
        case 3: return jsonString()
        case 4: return Array("[]".utf8)
        case 5: return Array("{}".utf8)
        case 6: return Array(#"[1,"a",null,{}]"#.utf8)
        case 7: return Array(#"{"a":[{"b":null}]}"#.utf8)
        case 8: return deepNesting(depth: int(2...200))
        default: return Array(pick(["[", "{", "\"", "tru", "01", "-", "1.", ".5", "NaN", "Infinity", "undefined", "'a'"]).utf8)
        }
    }

    /// `[[[…]]]` or `{"a":{"a":…}}`, unterminated half of the time past a few thousand levels.
    public mutating func deepNesting(depth: Int) -> [UInt8] {
        let array = chance(0.5)
        var bytes: [UInt8] = []
        if array {
            bytes = [UInt8](repeating: UInt8(ascii: "["), count: depth)
        } else {
            let open = Array(#"{"a":"#.utf8)
            bytes.reserveCapacity(depth * (open.count + 1) + 1)
            for _ in 0..<depth { bytes.append(contentsOf: open) }
        }
        bytes.append(UInt8(ascii: "1"))
        if depth < 5000 || chance(0.5) {
            bytes.append(contentsOf: [UInt8](repeating: array ? UInt8(ascii: "]") : UInt8(ascii: "}"), count: depth))
        }
        return bytes
    }

    /// A JSON object from `fields`: each field usually present and well formed, sometimes absent,
    /// of the wrong type, duplicated or joined by an unknown one.
    public mutating func object(_ fields: [(String, (inout FuzzInput) -> [UInt8])]) -> [UInt8] {
        var members: [[UInt8]] = []
        for (name, good) in fields {
            let roll = int(0...99)
            if roll < 12 { continue }
            let value = roll < 80 ? good(&self) : wrongType()
            members.append(jsonString(name) + [UInt8(ascii: ":")] + value)
            if chance(0.02) { members.append(jsonString(name) + [UInt8(ascii: ":")] + good(&self)) }
        }
        if chance(0.05) { members.append(jsonString() + [UInt8(ascii: ":")] + wrongType()) }
        if chance(0.1) { members.shuffle(using: &random) }
        return [UInt8(ascii: "{")] + Array(members.joined(separator: [UInt8(ascii: ",")])) + [UInt8(ascii: "}")]
    }

    public mutating func array(_ element: (inout FuzzInput) -> [UInt8], maxCount: Int = 6) -> [UInt8] {
        var elements: [[UInt8]] = []
        for _ in 0..<int(0...maxCount) { elements.append(element(&self)) }
        return [UInt8(ascii: "[")] + Array(elements.joined(separator: [UInt8(ascii: ",")])) + [UInt8(ascii: "]")]
    }

    public mutating func stringMap(maxCount: Int = 5, key: (inout FuzzInput) -> String, value: (inout FuzzInput) -> [UInt8]) -> [UInt8] {
        var members: [[UInt8]] = []
        for _ in 0..<int(0...maxCount) { members.append(jsonString(key(&self)) + [UInt8(ascii: ":")] + value(&self)) }
        return [UInt8(ascii: "{")] + Array(members.joined(separator: [UInt8(ascii: ",")])) + [UInt8(ascii: "}")]
    }

    /// A whole body replaced by something that is not the route's JSON at all.
    public mutating func hostileBody() -> [UInt8] {
        switch int(0...8) {
        case 0: return []
        case 1: return Array(pick(["null", "[]", "{}", "0", "\"\"", "true", "1e308", "-1"]).utf8)
        case 2: return deepNesting(depth: pick([100, 1000, 10_000, 100_000, 1_000_000]))
        case 3: return [UInt8(ascii: "\"")] + [UInt8](repeating: UInt8(ascii: "b"), count: int(1000...3_000_000)) + [UInt8(ascii: "\"")]
        case 4: return (0..<int(1...4096)).map { _ in UInt8.random(in: 0...255, using: &random) }
        case 5: return Array(#"{"#.utf8) + Array(repeating: UInt8(ascii: " "), count: int(0...100_000))
        case 6: return [0xEF, 0xBB, 0xBF] + Array("{}".utf8)
        case 7: return Array(#"{"a":1}{"b":2}"#.utf8)
        default: return wrongType()
        }
    }

    // MARK: URL parts

    /// Percent-encodes everything but unreserved characters; sometimes leaves raw bytes as they
    /// are (spaces and bytes above 0x7F included) to see what the parser makes of them.
    public static let hexDigits = Array("0123456789ABCDEF".utf8)

    public mutating func urlPart(_ text: String) -> [UInt8] {
        if chance(0.1) { return Array(text.utf8).filter { $0 > 0x20 && $0 != UInt8(ascii: "?") && $0 != UInt8(ascii: "#") } }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count * 3)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                bytes.append(byte)
            default:
                bytes.append(contentsOf: [UInt8(ascii: "%"), Self.hexDigits[Int(byte >> 4)], Self.hexDigits[Int(byte & 15)]])
            }
        }
        if chance(0.05) { bytes += Array(pick(["%", "%F", "%ZZ", "%FF%FE", "%C0%AF", "%00"]).utf8) }
        return bytes
    }
}
