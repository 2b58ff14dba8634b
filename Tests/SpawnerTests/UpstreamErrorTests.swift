import NIOCore
import RunnerProtocol
import RunnerdClient
import SpawnerClient
@testable import SpawnerCore
import Testing

/// `502 runnerd unreachable` means runnerd: a transport error is mapped to it only when it
/// happened on the way to a session's runnerd (`UpstreamFailure`, made where runnerd is
/// called); the same error anywhere else is the spawner's own `500`.
@Suite(.timeLimit(.minutes(5))) struct UpstreamErrorTests {
    @Test func transportErrorsAreRunnerdsOnlyWhenWrappedWhereRunnerdWasCalled() {
        let refused = IOError(errnoCode: 111, reason: "connect")
        #expect(SpawnerError.from(UpstreamFailure(cause: refused)).code == .badGateway)
        #expect(SpawnerError.from(UpstreamFailure(cause: refused)).message?.hasPrefix("runnerd unreachable") == true)
        #expect(SpawnerError.from(UpstreamFailure(cause: ChannelError.ioOnClosedChannel)).code == .badGateway)
        #expect(SpawnerError.from(UpstreamFailure(cause: RelayError.headTimeout)).code == .gatewayTimeout)
        // Not from a call to runnerd: an internal error, not blamed on runnerd.
        for error: any Error in [refused, ChannelError.ioOnClosedChannel, ChannelError.alreadyClosed] {
            let mapped = SpawnerError.from(error)
            #expect(mapped.code == .internalError && mapped.status.code == 500, "\(error)")
            #expect(mapped.message?.contains("runnerd") == false, "\(error)")
        }
    }

    @Test func wrappingKeepsTheSpawnersOwnAnswers() async {
        await #expect(throws: SpawnerError.self) {
            try await UpstreamFailure.during { throw SpawnerError.sessionNotFound("x") }
        }
        await #expect(throws: UpstreamFailure.self) {
            try await UpstreamFailure.during { throw IOError(errnoCode: 111, reason: "connect") }
        }
    }

    /// End to end: a session whose runnerd is gone answers `502 runnerd unreachable` on a
    /// proxied call and on an exec stream.
    @Test func aGoneRunnerdIsABadGateway() async throws {
        let fake = try FakeRunnerd()
        let spawner = try await InProcessSpawner(backend: FakeRunnerdBackend(port: fake.port)) { _ in }
        do {
            let client = spawner.client
            _ = try await client.create("gone")
            fake.stop()
            let (status, body) = try await client.status(.GET, "/v1/sessions/gone/execs/x")
            #expect(status == 502)
            #expect(body?.error == SpawnerErrorKind.badGateway && body?.message?.hasPrefix("runnerd unreachable") == true, "\(String(describing: body))")
            let (streamStatus, streamBody) = try await client.status(
                .POST, "/v1/sessions/gone/exec", body: try WireJSON.encode(ExecRequest(execId: "x", command: ["true"], timeoutMs: 0)))
            #expect(streamStatus == 502)
            #expect(streamBody?.message?.hasPrefix("runnerd unreachable") == true, "\(String(describing: streamBody))")
        } catch {
            await spawner.tearDown()
            throw error
        }
        await spawner.tearDown()
    }
}
