/// An IPv4 or IPv6 network, `address/prefix` (a bare address is a /32 or /128): what a docker
/// profile's `egressAllow` lists and what the spawner hands runnerd in its network policy.
/// Parsed without libc, so the spawner validates a profile exactly as runnerd will read it.
public struct CIDR: Hashable, Sendable, CustomStringConvertible {
    public enum Family: Sendable { case ipv4, ipv6 }

    /// The network's address with every bit past the prefix cleared (4 or 16 bytes).
    public let bytes: [UInt8]
    public let prefix: Int

    public var family: Family { bytes.count == 4 ? .ipv4 : .ipv6 }

    /// Parses `a.b.c.d[/n]` or an RFC 4291 text form (with `::`, an embedded dotted quad, no
    /// zone) `[/n]`. Host bits past the prefix are cleared: `10.1.2.3/8` is `10.0.0.0/8`.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2, !parts[0].isEmpty else { return nil }
        let address = Self.parseIPv4(parts[0]) ?? Self.parseIPv6(parts[0])
        guard let address else { return nil }
        let bits = address.count * 8
        var prefix = bits
        if parts.count == 2 {
            guard !parts[1].isEmpty, parts[1].count <= 3, parts[1].allSatisfy(\.isASCIIDigit), let given = Int(parts[1]), given <= bits else {
                return nil
            }
            prefix = given
        }
        self.prefix = prefix
        self.bytes = Self.masked(address, prefix: prefix)
    }

    public var description: String {
        let address: String
        switch family {
        case .ipv4: address = bytes.map(String.init).joined(separator: ".")
        case .ipv6:
            address = stride(from: 0, to: 16, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
                .joined(separator: ":")
        }
        return "\(address)/\(prefix)"
    }

    /// Whether `other` lies wholly inside this network.
    public func contains(_ other: CIDR) -> Bool {
        guard other.bytes.count == bytes.count, other.prefix >= prefix else { return false }
        return Self.masked(other.bytes, prefix: prefix) == bytes
    }

    /// A comma-separated list (spaces allowed around the commas); nil names the first entry
    /// that is not a CIDR.
    public static func parseList(_ text: String) -> Result<[CIDR], ListError> {
        var result: [CIDR] = []
        for raw in text.split(separator: ",") {
            let entry = raw.trimmingASCIISpaces
            guard !entry.isEmpty else { continue }
            guard let cidr = CIDR(entry) else { return .failure(ListError(entry: entry)) }
            result.append(cidr)
        }
        return .success(result)
    }

    public struct ListError: Error, Equatable, Sendable {
        public let entry: String
        public init(entry: String) { self.entry = entry }
    }

    static func masked(_ address: [UInt8], prefix: Int) -> [UInt8] {
        var bytes = address
        for index in bytes.indices {
            let kept = min(max(prefix - index * 8, 0), 8)
            bytes[index] &= kept == 0 ? 0 : ~UInt8(0) << (8 - kept)
        }
        return bytes
    }

    static func parseIPv4<S: StringProtocol>(_ text: S) -> [UInt8]? {
        let octets = text.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return nil }
        var bytes: [UInt8] = []
        for octet in octets {
            // No leading zeros (inet_pton refuses them: "010" is octal to some parsers).
            guard (1...3).contains(octet.count), octet.allSatisfy(\.isASCIIDigit), octet == "0" || octet.first != "0",
                let value = UInt8(octet)
            else { return nil }
            bytes.append(value)
        }
        return bytes
    }

    static func parseIPv6<S: StringProtocol>(_ text: S) -> [UInt8]? {
        guard text.contains(":") else { return nil }
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String, allowQuad: Bool) -> [UInt8]? {
            guard !part.isEmpty else { return [] }
            var bytes: [UInt8] = []
            let fields = part.split(separator: ":", omittingEmptySubsequences: false)
            for (index, field) in fields.enumerated() {
                if allowQuad, index == fields.count - 1, field.contains(".") {
                    guard let quad = parseIPv4(field) else { return nil }
                    bytes += quad
                    continue
                }
                guard (1...4).contains(field.count), field.allSatisfy(\.isHexDigit), let value = UInt16(field, radix: 16) else { return nil }
                bytes += [UInt8(value >> 8), UInt8(value & 0xff)]
            }
            return bytes
        }
        if halves.count == 1 {
            guard let bytes = groups(halves[0], allowQuad: true), bytes.count == 16 else { return nil }
            return bytes
        }
        guard let head = groups(halves[0], allowQuad: false), let tail = groups(halves[1], allowQuad: true),
            head.count + tail.count <= 14
        else { return nil }
        return head + [UInt8](repeating: 0, count: 16 - head.count - tail.count) + tail
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}

extension StringProtocol {
    fileprivate var trimmingASCIISpaces: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }

    fileprivate func components(separatedBy separator: String) -> [String] {
        var result: [String] = []
        var rest = Substring(self)
        while let range = rest.firstRange(of: separator) {
            result.append(String(rest[..<range.lowerBound]))
            rest = rest[range.upperBound...]
        }
        result.append(String(rest))
        return result
    }
}

/// In JSON a CIDR is its text (`"10.0.0.0/8"`); one that does not parse fails the decoding.
extension CIDR: Codable {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let cidr = CIDR(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "\(text) is not an address or CIDR"))
        }
        self = cidr
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
