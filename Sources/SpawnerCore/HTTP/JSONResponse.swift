import HTTPTypes
import Hummingbird
import RunnerProtocol

/// JSON answers encoded by `WireJSON` (sorted keys, the contract's field names).
enum JSONResponse {
    static func make(_ status: HTTPResponse.Status, _ value: some Encodable) -> Response {
        // Wire types always encode; were one not to, the client still gets valid JSON.
        let bytes = (try? WireJSON.encode(value)) ?? Array(#"{"error":"internal"}"#.utf8)
        return Response(
            status: status, headers: [.contentType: "application/json", .contentLength: String(bytes.count)],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

/// A handler's answer that is a wire value with a status.
struct WireResponse<Value: Encodable & Sendable>: ResponseGenerator {
    var status: HTTPResponse.Status = .ok
    var value: Value

    func response(from request: Request, context: some RequestContext) throws -> Response {
        JSONResponse.make(status, value)
    }
}
