import NIOHTTP1
import RunnerProtocol

/// Checks the shared token: `Authorization: Bearer <token>` or `X-Runnerd-Token: <token>`,
/// compared in constant time. No token configured (`--insecure-no-auth`) admits everything.
public struct Authenticator: Sendable {
    private let token: [UInt8]?

    public init(token: [UInt8]?) {
        self.token = token
    }

    public func admits(_ headers: HTTPHeaders) -> Bool {
        guard let token else { return true }
        var presented: [UInt8]?
        if let authorization = headers.first(name: "authorization") {
            let prefix = "bearer "
            if authorization.count > prefix.count, authorization.lowercased().hasPrefix(prefix) {
                presented = Array(authorization.utf8.dropFirst(prefix.utf8.count))
            }
        }
        if presented == nil, let header = headers.first(name: "x-runnerd-token") {
            presented = Array(header.utf8)
        }
        guard let presented else { return false }
        return ConstantTime.equals(presented, token)
    }

    /// The answer to an adoption challenge (`GET /readyz?challenge=C`, contract §4): proof of
    /// holding the token without sending it. Nil when runnerd has no token.
    public func proof(for challenge: String) -> String? {
        token.map { ReadinessChallenge.proof(token: $0, challenge: challenge) }
    }
}
