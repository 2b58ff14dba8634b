import Foundation
import RunnerProtocol
import RunnerdClient

/// Percent-encodes a path for `?path=` (every byte but unreserved ones and `/`).
func queryEncoded(_ path: String) -> String {
    var result = ""
    for byte in path.utf8 {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "/"):
            result.unicodeScalars.append(Unicode.Scalar(byte))
        default:
            result += String(format: "%%%02X", byte)
        }
    }
    return result
}

extension RunnerdClient {
    func stage(_ files: [StageFile]) async throws -> StageResponse {
        try await json(.POST, "/files/stage", body: StageRequest(files: files))
    }

    func stage(_ path: String, _ bytes: [UInt8]) async throws -> StageResponse {
        try await stage([StageFile(path: path, contentBase64: Base64.encode(bytes))])
    }

    func stage(_ path: String, text: String) async throws -> StageResponse {
        try await stage(path, Array(text.utf8))
    }

    func stage(_ path: String, url: String) async throws -> StageResponse {
        try await stage([StageFile(path: path, url: url)])
    }

    func deletePaths(_ paths: [String]) async throws -> DeleteResponse {
        try await json(.POST, "/files/delete", body: DeleteRequest(paths: paths))
    }

    /// `GET /fs/list`: the status, the listing on 200, the error body otherwise.
    func listDirectory(_ path: String?) async throws -> (status: Int, listing: DirectoryListing?, error: ErrorBody?) {
        let (status, body) = try await call(.GET, "/fs/list" + (path.map { "?path=" + queryEncoded($0) } ?? ""))
        if status == 200 { return (status, try WireJSON.decode(DirectoryListing.self, from: body), nil) }
        return (status, nil, try? WireJSON.decode(ErrorBody.self, from: body))
    }

    /// `GET /fs/read`: the status and the raw body.
    func readFile(_ path: String) async throws -> (status: Int, body: [UInt8]) {
        try await call(.GET, "/fs/read?path=" + queryEncoded(path))
    }
}
