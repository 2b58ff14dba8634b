/// Pre-signed URLs (contract §3, v1.2 §4): a request that cannot carry headers (a browser's
/// WebSocket) carries `ts=T&sig=v1=HEX` in its query instead, the signature computed as for
/// the headers over `GET`, the path with the query minus `sig`, `T` and the empty body's hash.
/// Valid for 60 s after `T`; the spawner accepts it once.
extension HMACSigner {
    /// `pathWithQuery` (its query values already percent-encoded) with `ts` and `sig` appended.
    public func presign(method: String = "GET", pathWithQuery: String, nowMs: Int64) -> String {
        let unsigned = pathWithQuery + (pathWithQuery.contains("?") ? "&" : "?") + "ts=\(nowMs)"
        let signature = self.signature(method: method, pathWithQuery: unsigned, timestampMs: nowMs, body: [UInt8]())
        return unsigned + "&sig=" + Self.escapeSignature(signature)
    }

    /// How long a pre-signed URL lives (contract v1.2 §4): at most 60 s after its `ts` (and
    /// `ts` at most 60 s ahead of the verifier's clock).
    public static let presignedMaxAgeMs: Int64 = 60_000

    /// Checks a pre-signed `pathWithQuery` as received (percent-encoded). `missing` when the
    /// query has no `ts` or `sig`, or either twice.
    public func verifyPresigned(method: String = "GET", pathWithQuery: String, nowMs: Int64) -> Result<Void, Rejection> {
        presignedClaim(method: method, pathWithQuery: pathWithQuery, nowMs: nowMs).map { _ in () }
    }

    /// `verifyPresigned`, with the verified claim (to accept its signature once).
    public func presignedClaim(method: String = "GET", pathWithQuery: String, nowMs: Int64) -> Result<Claim, Rejection> {
        guard let mark = pathWithQuery.firstIndex(of: "?") else { return .failure(.missing) }
        let path = pathWithQuery[..<mark]
        let items = pathWithQuery[pathWithQuery.index(after: mark)...].split(separator: "&", omittingEmptySubsequences: false)
        func values(_ name: String) -> [Substring] {
            items.compactMap { item in
                let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                return parts[0] == name[...] ? (parts.count > 1 ? parts[1] : "") : nil
            }
        }
        let timestamps = values("ts")
        let signatures = values("sig")
        guard timestamps.count == 1, signatures.count == 1 else { return .failure(.missing) }
        let rest = items.filter { !($0 == "sig" || $0.hasPrefix("sig=")) }.joined(separator: "&")
        let signed = String(path) + (rest.isEmpty ? "" : "?" + rest)
        return claim(timestampHeader: String(timestamps[0]), signatureHeader: Self.unescapeSignature(String(signatures[0])), nowMs: nowMs)
            .flatMap { claim in
                let (age, overflow) = nowMs.subtractingReportingOverflow(claim.timestampMs)
                if overflow || age > Self.presignedMaxAgeMs { return .failure(.stale) }
                if age < -Self.presignedMaxAgeMs { return .failure(.future) }
                return verify(claim, method: method, pathWithQuery: signed, body: [UInt8]()).map { claim }
            }
    }

    /// `v1=HEX` as a query value: the `=` percent-encoded.
    static func escapeSignature(_ signature: String) -> String {
        signature.replacing("=", with: "%3D")
    }

    static func unescapeSignature(_ value: String) -> String {
        value.replacing("%3D", with: "=").replacing("%3d", with: "=")
    }
}
