import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import NIOPosix
import RunnerdClient

/// A request to a session's runnerd that failed on the way there or back: connecting,
/// sending, or reading its answer. Made where runnerd is called (`RunnerdForwarder`, the
/// terminal's status check), so that only such failures answer `502`/`504`: an I/O error
/// anywhere else is the spawner's own (`500`), not runnerd's.
struct UpstreamFailure: Error, CustomStringConvertible {
    let cause: any Error

    var description: String { "runnerd: \(cause)" }

    /// Runs a call to runnerd: its transport errors become an `UpstreamFailure`; the spawner's
    /// own answers and cancellation pass through.
    static func during<T>(isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as SpawnerError {
            throw error
        } catch let error as CancellationError {
            throw error
        } catch {
            throw UpstreamFailure(cause: error)
        }
    }

    /// The answer the client gets.
    var answer: SpawnerError {
        switch cause {
        case let error as RelayError:
            return error == .headTimeout ? .init(.gatewayTimeout, "runnerd: \(error)") : .badGateway("runnerd: \(error)")
        case let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout:
            return .init(.gatewayTimeout, "runnerd did not answer in time")
        case let error as HTTPParserError:
            return .badGateway("runnerd's answer does not parse: \(error)")
        case is RunnerdClientError:
            return .badGateway("runnerd: \(cause)")
        case is HTTPClientError, is ChannelError, is NIOConnectionError, is IOError:
            return .badGateway("runnerd unreachable: \(cause)")
        default:
            return .badGateway("runnerd: \(cause)")
        }
    }
}
