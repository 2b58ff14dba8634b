import ArgumentParser
import AsyncHTTPClient
import NIOCore
import RunnerProtocol
import SpawnerClient
import SystemSupport

/// Where the spawner is and how to sign for it: SPAWNER_URL, SPAWNER_SECRET / SPAWNER_SECRET_FILE.
struct ClientOptions: ParsableArguments {
    @Option(name: .customLong("url"), help: ArgumentHelp("The spawner (SPAWNER_URL, default http://127.0.0.1:8080).", valueName: "url"))
    var url: String?

    /// A signing client; throws when no secret is configured.
    func client() throws -> SpawnerClient {
        try Self.client(url: url)
    }

    /// A signing client for the spawner at `url` (else SPAWNER_URL, else the default).
    static func client(url: String?) throws -> SpawnerClient {
        let environment = ProcessEnvironment.current
        let secret: [UInt8]
        do {
            secret = try SpawnerSecret.load(environment: environment, readFile: ProcessEnvironment.readFile)
        } catch {
            throw ValidationError(error.description)
        }
        return SpawnerClient(baseURL: url ?? environment["SPAWNER_URL"] ?? "http://127.0.0.1:8080", secret: secret, httpClient: httpClient)
    }

    /// The commands' HTTP client: async-http-client's shared one retries a failed connect until
    /// the request's deadline (with a 90 s connect timeout), so a spawner that is not running
    /// took 90 s to report "connection refused". A command line says so at once; a spawner
    /// that accepts nothing for 10 s is reported as a connect timeout. Process-wide, like
    /// `HTTPClient.shared`: never shut down, it lives as long as the command.
    static let httpClient: HTTPClient = {
        var configuration = HTTPClient.Configuration.singletonConfiguration
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(10)
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()
}

extension ParsableCommand {
    /// Runs a client call; an error becomes a message and exit status 125.
    func reporting<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as ExitCode {
            throw error
        } catch {
            ProcessEnvironment.printError("spawner: \(describe(error))")
            throw ExitCode(125)
        }
    }
}

/// A client error as a person reads it. A failed connect is NIO's `IOError`, whose own text
/// reads "connection reset (error set): Connection refused) (errno: 111)" for a refused one.
func describe(_ error: any Error) -> String {
    if let error = error as? IOError {
        return "cannot reach the spawner: \(SystemError.text(errno: error.errnoCode)) (errno \(error.errnoCode))"
    }
    return "\(error)"
}

/// `NAME=value` arguments.
func parseAssignments(_ items: [String]) throws -> [String: String] {
    var result: [String: String] = [:]
    for item in items {
        guard let equals = item.firstIndex(of: "="), equals != item.startIndex else {
            throw ValidationError("expected NAME=value, got \(item)")
        }
        result[String(item[..<equals])] = String(item[item.index(after: equals)...])
    }
    return result
}
