import NIOCore
import NIOHTTP1
import RunnerProtocol
import SpawnerCore
import SystemSupport

/// The engine calls the docker backend makes, typed. Lookups answer nil for an object that
/// does not exist; removals of an object already gone succeed (they are idempotent).
extension DockerEngine {
    // MARK: Containers

    /// Creates (does not start) a container; returns its id.
    func createContainer(name: String, _ spec: DockerModels.ContainerCreate, timeout: TimeAmount) async throws -> String {
        try await json(.POST, "/containers/create", query: [("name", name)], body: spec, as: DockerModels.Created.self, timeout: timeout).id
    }

    func inspectContainer(_ idOrName: String, timeout: TimeAmount = .seconds(30)) async throws -> DockerModels.ContainerInspect? {
        try await lookup("/containers/\(PercentEncoding.queryValue(idOrName))/json", timeout: timeout)
    }

    /// Every container, running or not, carrying all of `labels`.
    func listContainers(labels: [String: String]) async throws -> [DockerModels.ContainerSummary] {
        try await json(.GET, "/containers/json", query: [("all", "true"), ("filters", Self.labelFilter(labels))], as: [DockerModels.ContainerSummary].self)
    }

    /// Extracts a tar archive into the container's filesystem at `path` (works before the
    /// container starts; `path` must be on a volume when the root filesystem is read-only).
    func putArchive(_ id: String, path: String, tar: [UInt8], timeout: TimeAmount) async throws {
        let answer = try await call(
            .PUT, "/containers/\(id)/archive", query: [("path", path), ("noOverwriteDirNonDir", "true")], body: tar,
            contentType: "application/x-tar", timeout: timeout)
        guard answer.status == 200 else {
            throw DockerEngineError(status: answer.status, message: "PUT /containers/\(id)/archive: \(Self.message(answer.body))")
        }
    }

    func startContainer(_ id: String, timeout: TimeAmount) async throws {
        let answer = try await call(.POST, "/containers/\(id)/start", timeout: timeout)
        guard answer.status == 204 || answer.status == 304 else {
            throw DockerEngineError(status: answer.status, message: "POST /containers/\(id)/start: \(Self.message(answer.body))")
        }
    }

    /// SIGTERM (the image's stop signal), SIGKILL after `graceSeconds`.
    func stopContainer(_ id: String, graceSeconds: Int) async throws {
        let answer = try await call(.POST, "/containers/\(id)/stop", query: [("t", String(graceSeconds))], timeout: .seconds(Int64(graceSeconds) + 30))
        guard answer.status == 204 || answer.status == 304 || answer.status == 404 else {
            throw DockerEngineError(status: answer.status, message: "POST /containers/\(id)/stop: \(Self.message(answer.body))")
        }
    }

    /// Removes the container (killing it if it still runs); its named volumes stay.
    func removeContainer(_ id: String) async throws {
        let answer = try await call(.DELETE, "/containers/\(id)", query: [("force", "true")], timeout: .seconds(60))
        guard answer.status == 204 || answer.status == 404 else {
            // 409 "removal already in progress" ends with the container gone as well.
            if answer.status == 409, Self.message(answer.body).contains("already in progress") { return }
            throw DockerEngineError(status: answer.status, message: "DELETE /containers/\(id): \(Self.message(answer.body))")
        }
    }

    // MARK: Volumes

    func createVolume(name: String, labels: [String: String], timeout: TimeAmount) async throws {
        try await send(.POST, "/volumes/create", body: DockerModels.VolumeCreate(name: name, labels: labels), timeout: timeout)
    }

    func inspectVolume(_ name: String, timeout: TimeAmount = .seconds(30)) async throws -> DockerModels.Volume? {
        try await lookup("/volumes/\(PercentEncoding.queryValue(name))", timeout: timeout)
    }

    func listVolumes(labels: [String: String]) async throws -> [DockerModels.Volume] {
        try await json(.GET, "/volumes", query: [("filters", Self.labelFilter(labels))], as: DockerModels.VolumeList.self).volumes ?? []
    }

    func removeVolume(_ name: String) async throws {
        let answer = try await call(.DELETE, "/volumes/\(PercentEncoding.queryValue(name))", timeout: .seconds(60))
        guard answer.status == 204 || answer.status == 404 else {
            throw DockerEngineError(status: answer.status, message: "DELETE /volumes/\(name): \(Self.message(answer.body))")
        }
    }

    // MARK: Networks

    func inspectNetwork(_ name: String) async throws -> DockerModels.Network? {
        try await lookup("/networks/\(PercentEncoding.queryValue(name))")
    }

    func createNetwork(_ spec: DockerModels.NetworkCreate) async throws {
        try await send(.POST, "/networks/create", body: spec)
    }

    func connect(container: String, to network: String) async throws {
        try await send(.POST, "/networks/\(PercentEncoding.queryValue(network))/connect", body: DockerModels.NetworkConnect(container: container))
    }

    /// The spawner's own container, as far as networking goes.
    func inspectSelf(_ idOrName: String) async throws -> DockerModels.SelfInspect? {
        try await lookup("/containers/\(PercentEncoding.queryValue(idOrName))/json")
    }

    /// One object by its path; nil when the engine does not know it.
    private func lookup<T: Decodable>(_ path: String, timeout: TimeAmount = .seconds(30)) async throws -> T? {
        do {
            return try await json(.GET, path, as: T.self, timeout: timeout)
        } catch let error as DockerEngineError where error.isNotFound {
            return nil
        }
    }
}

extension DockerEngine {
    /// The last lines a container wrote (stdout and stderr), for an error message.
    func logTail(_ id: String, lines: Int = 20) async throws -> String {
        let answer = try await call(
            .GET, "/containers/\(id)/logs", query: [("stdout", "true"), ("stderr", "true"), ("tail", String(lines))], timeout: .seconds(10),
            limit: 64 << 10)
        guard answer.status == 200 else { return "" }
        return String(decoding: Self.demultiplexed(answer.body), as: UTF8.self).trimmingWhitespace()
    }

    /// The payload of a log stream without its 8-byte frame headers (containers without a TTY
    /// multiplex stdout and stderr: stream type, three zero bytes, a big-endian length).
    static func demultiplexed(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var index = 0
        while index + 8 <= bytes.count, bytes[index] <= 2, bytes[index + 1] == 0, bytes[index + 2] == 0, bytes[index + 3] == 0 {
            let length = bytes[(index + 4)..<(index + 8)].reduce(0) { $0 << 8 | Int($1) }
            let end = min(bytes.count, index + 8 + length)
            out += bytes[(index + 8)..<end]
            index = end
        }
        return index == 0 ? bytes : out
    }
}
