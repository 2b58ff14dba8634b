import NIOHTTP1
@testable import RunnerdCore
import Testing

@Suite(.timeLimit(.minutes(3))) struct AuthenticatorTests {
    let auth = Authenticator(token: Array("s3cret".utf8))

    func admits(_ headers: [(String, String)]) -> Bool { auth.admits(HTTPHeaders(headers)) }

    @Test func bearerTokenIsAdmitted() {
        #expect(admits([("Authorization", "Bearer s3cret")]))
        #expect(admits([("authorization", "bearer s3cret")]))
        #expect(admits([("AUTHORIZATION", "BEARER s3cret")]))
    }

    @Test func compatibilityHeaderIsAdmitted() {
        #expect(admits([("X-Runnerd-Token", "s3cret")]))
        #expect(admits([("x-runnerd-token", "s3cret")]))
    }

    @Test func missingOrWrongTokenIsRefused() {
        #expect(!admits([]))
        #expect(!admits([("Authorization", "Bearer wrong")]))
        #expect(!admits([("Authorization", "Bearer s3cre")]))
        #expect(!admits([("Authorization", "Bearer s3cret2")]))
        #expect(!admits([("Authorization", "Bearer S3CRET")]))
        #expect(!admits([("Authorization", "Basic s3cret")]))
        #expect(!admits([("Authorization", "s3cret")]))
        #expect(!admits([("Authorization", "Bearer ")]))
        #expect(!admits([("X-Runnerd-Token", "")]))
        #expect(!admits([("X-Runnerd-Token", "wrong")]))
    }

    @Test func noTokenAdmitsEverything() {
        let open = Authenticator(token: nil)
        #expect(open.admits(HTTPHeaders()))
        #expect(open.admits(HTTPHeaders([("Authorization", "Bearer anything")])))
    }
}
