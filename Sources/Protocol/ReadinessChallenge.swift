import Crypto

/// The adoption challenge (contract §4): `GET /readyz?challenge=C` is answered with
/// `proof = hex(HMAC-SHA256(token, C))`, so a spawner can learn whether a sandbox holds a
/// session's token without ever sending it. The key is the token's bytes as delivered (its hex
/// text), the message the challenge's hex text as sent.
public enum ReadinessChallenge {
    /// Hex digits a challenge has at least and at most.
    public static let digits = 16...128

    /// Whether `challenge` is 16–128 hex digits (either case).
    public static func isValid(_ challenge: String) -> Bool {
        digits.contains(challenge.utf8.count) && challenge.utf8.allSatisfy(isHexDigit)
    }

    /// The proof of holding `token` for `challenge`.
    public static func proof(token: some Collection<UInt8>, challenge: String) -> String {
        let key = SymmetricKey(data: Array(token))
        return HMACSigner.hex(HMAC<SHA256>.authenticationCode(for: Array(challenge.utf8), using: key))
    }

    /// Whether `proof` answers `challenge` for `token`, in constant time.
    public static func verify(proof: String, token: some Collection<UInt8>, challenge: String) -> Bool {
        ConstantTime.equals(Array(proof.utf8), Array(self.proof(token: token, challenge: challenge).utf8))
    }

    /// A fresh challenge: 32 random bytes as 64 hex digits.
    public static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        return HMACSigner.hex((0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
            || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
    }
}
