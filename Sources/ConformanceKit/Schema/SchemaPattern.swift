/// The `pattern`s the schemas use, evaluated without a regex engine: an optional `^`, a
/// sequence of atoms — a character class `[...]` (ranges, literal characters, `\\-`, `\\d`)
/// or a literal character — each with an optional quantifier `{n}`, `{n,m}`, `?`, `*` or `+`,
/// and an optional `$`. Patterns outside that subset make `init` return nil (the validator
/// then reports that it cannot evaluate them, rather than passing them silently).
public struct SchemaPattern: Sendable {
    struct Atom: Sendable {
        var ranges: [ClosedRange<UInt32>]
        var min: Int
        var max: Int
        func admits(_ scalar: Unicode.Scalar) -> Bool { ranges.contains { $0.contains(scalar.value) } }
    }

    let atoms: [Atom]
    let anchoredStart: Bool
    let anchoredEnd: Bool

    public init?(_ pattern: String) {
        var chars = Array(pattern.unicodeScalars)
        var start = false
        var end = false
        if chars.first == "^" { start = true; chars.removeFirst() }
        if chars.last == "$", chars.count < 2 || chars[chars.count - 2] != "\\" { end = true; chars.removeLast() }
        var atoms: [Atom] = []
        var i = 0
        while i < chars.count {
            var ranges: [ClosedRange<UInt32>] = []
            let c = chars[i]
            if c == "[" {
                i += 1
                guard i < chars.count, chars[i] != "^" else { return nil }
                while i < chars.count, chars[i] != "]" {
                    var lo = chars[i]
                    if lo == "\\" {
                        i += 1
                        guard i < chars.count else { return nil }
                        if chars[i] == "d" { ranges.append(48...57); i += 1; continue }
                        lo = chars[i]
                    }
                    if i + 2 < chars.count, chars[i + 1] == "-", chars[i + 2] != "]" {
                        ranges.append(lo.value...chars[i + 2].value)
                        i += 3
                    } else {
                        ranges.append(lo.value...lo.value)
                        i += 1
                    }
                }
                guard i < chars.count else { return nil }
                i += 1
            } else if c == "\\" {
                i += 1
                guard i < chars.count else { return nil }
                if chars[i] == "d" { ranges = [48...57] } else { ranges = [chars[i].value...chars[i].value] }
                i += 1
            } else if "()|.*+?{}".unicodeScalars.contains(c) {
                return nil
            } else {
                ranges = [c.value...c.value]
                i += 1
            }
            var min = 1
            var max = 1
            if i < chars.count {
                switch chars[i] {
                case "?": min = 0; max = 1; i += 1
                case "*": min = 0; max = Int.max; i += 1
                case "+": min = 1; max = Int.max; i += 1
                case "{":
                    guard let close = chars[i...].firstIndex(of: "}") else { return nil }
                    let body = String(String.UnicodeScalarView(chars[(i + 1)..<close]))
                    let parts = body.split(separator: ",", omittingEmptySubsequences: false)
                    guard let lo = Int(parts[0]) else { return nil }
                    min = lo
                    if parts.count == 1 { max = lo } else if parts[1].isEmpty { max = Int.max } else if let hi = Int(parts[1]) { max = hi } else { return nil }
                    i = close + 1
                default: break
                }
            }
            atoms.append(Atom(ranges: ranges, min: min, max: max))
        }
        self.atoms = atoms
        self.anchoredStart = start
        self.anchoredEnd = end
    }

    public func matches(_ text: String) -> Bool {
        let scalars = Array(text.unicodeScalars)
        let starts = anchoredStart ? [0] : Array(0...scalars.count)
        return starts.contains { match(scalars, from: $0, atom: 0) }
    }

    /// Backtracking over the atoms (the patterns are short; so are the strings they check).
    private func match(_ s: [Unicode.Scalar], from position: Int, atom index: Int) -> Bool {
        if index == atoms.count { return !anchoredEnd || position == s.count }
        let atom = atoms[index]
        var count = 0
        var p = position
        while count < atom.min {
            guard p < s.count, atom.admits(s[p]) else { return false }
            p += 1
            count += 1
        }
        var ends = [p]
        while count < atom.max, p < s.count, atom.admits(s[p]) {
            p += 1
            count += 1
            ends.append(p)
        }
        return ends.reversed().contains { match(s, from: $0, atom: index + 1) }
    }
}
