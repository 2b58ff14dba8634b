import NIOCore
import NIOEmbedded
import NIOHTTP1
@testable import SpawnerCore
import Testing

/// `ParseErrorHandler` on its own, on an `EmbeddedChannel`: what it writes and when it closes
/// (the end-to-end answers are in `ConnectionLimitTests`).
@Suite(.timeLimit(.minutes(1))) struct ParseErrorHandlerTests {
    static func channel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel(handler: ParseErrorHandler())
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }

    static let request = HTTPServerRequestPart.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/healthz"))

    static func answer(_ status: HTTPResponseStatus) -> [HTTPServerResponsePart] {
        [.head(HTTPResponseHead(version: .http1_1, status: status)), .end(nil)]
    }

    @Test func withNothingInFlightItAnswers400AndCloses() throws {
        let channel = try Self.channel()
        channel.pipeline.fireErrorCaught(HTTPParserError.invalidMethod)
        guard case .head(let head) = try channel.readOutbound(as: HTTPServerResponsePart.self) else {
            Issue.record("no response head")
            return
        }
        #expect(head.status == .badRequest)
        #expect(head.headers["Connection"] == ["close"])
        #expect(head.headers["Content-Length"] == ["0"])
        guard case .end = try channel.readOutbound(as: HTTPServerResponsePart.self) else {
            Issue.record("no response end")
            return
        }
        #expect(!channel.isActive)
        // The error goes on up the pipeline (Hummingbird logs it).
        #expect(throws: HTTPParserError.invalidMethod) { try channel.throwIfErrorCaught() }
    }

    @Test func theAnswersOwedGoOutFirstThenItCloses() throws {
        let channel = try Self.channel()
        try channel.writeInbound(Self.request)
        #expect(try channel.readInbound(as: HTTPServerRequestPart.self) == Self.request)
        channel.pipeline.fireErrorCaught(HTTPParserError.invalidChunkSize)
        #expect(throws: HTTPParserError.invalidChunkSize) { try channel.throwIfErrorCaught() }
        #expect(try channel.readOutbound(as: HTTPServerResponsePart.self) == nil, "it writes nothing of its own")
        #expect(channel.isActive)
        // The answer to the request that was read…
        for part in Self.answer(.ok) { try channel.writeOutbound(part) }
        #expect(channel.isActive)
        // …then the server's own 400 for what failed: after it, the connection closes.
        for part in Self.answer(.badRequest) { try channel.writeOutbound(part) }
        #expect(!channel.isActive)
        var statuses: [HTTPResponseStatus] = []
        while let part = try channel.readOutbound(as: HTTPServerResponsePart.self) {
            if case .head(let head) = part { statuses.append(head.status) }
        }
        #expect(statuses == [.ok, .badRequest])
    }

    @Test func withoutAParseErrorAnswersKeepTheConnection() throws {
        let channel = try Self.channel()
        for _ in 0..<3 {
            try channel.writeInbound(Self.request)
            for part in Self.answer(.ok) { try channel.writeOutbound(part) }
        }
        #expect(channel.isActive)
        var statuses: [HTTPResponseStatus] = []
        while let part = try channel.readOutbound(as: HTTPServerResponsePart.self) {
            if case .head(let head) = part { statuses.append(head.status) }
        }
        #expect(statuses == [.ok, .ok, .ok])
    }

    @Test func itLeavesTheConnectionOnceA101IsFlushed() throws {
        let channel = try Self.channel()
        try channel.writeInbound(Self.request)
        channel.write(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .switchingProtocols)), promise: nil)
        #expect(throws: Never.self) { try channel.pipeline.syncOperations.handler(type: ParseErrorHandler.self) }
        channel.flush()
        #expect(throws: (any Error).self) { try channel.pipeline.syncOperations.handler(type: ParseErrorHandler.self) }
        #expect(channel.isActive)
    }
}
