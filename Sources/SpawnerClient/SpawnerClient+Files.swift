import RunnerProtocol

/// The session's files, through the spawner's proxy to runnerd's file API.
extension SpawnerClient {
    /// Writes files into the workspace (inline content of at most 1 MiB each, or a URL).
    public func stageFiles(_ sessionId: String, _ request: StageRequest) async throws -> StageResponse {
        try await json(.POST, "/v1/sessions/\(sessionId)/files/stage", body: request)
    }

    public func deleteFiles(_ sessionId: String, _ request: DeleteRequest) async throws -> DeleteResponse {
        try await json(.POST, "/v1/sessions/\(sessionId)/files/delete", body: request)
    }

    public func listDirectory(_ sessionId: String, path: String) async throws -> DirectoryListing {
        try await json(.GET, "/v1/sessions/\(sessionId)/fs/list?path=" + Self.encodeQueryValue(path))
    }

    /// A file's bytes (at most 20 MiB).
    public func readFile(_ sessionId: String, path: String) async throws -> [UInt8] {
        let (status, _, bytes) = try await call(.GET, "/v1/sessions/\(sessionId)/fs/read?path=" + Self.encodeQueryValue(path))
        guard status == 200 else { throw Self.statusError(status, bytes) }
        return bytes
    }
}
