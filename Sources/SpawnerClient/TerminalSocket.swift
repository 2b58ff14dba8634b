import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOCore
import NIOSSL
import RunnerProtocol

/// The client end of a session's terminal WebSocket (`GET /v1/sessions/{sid}/terminal`),
/// signed with the usual headers.
public struct TerminalSocket: Sendable {
    /// What the server sent: terminal output, or one of its JSON text frames.
    public enum Incoming: Sendable {
        case output(ByteBuffer)
        case frame(TerminalFrame.Server)
    }

    let outbound: WebSocketOutboundWriter

    /// Raw bytes to the terminal (keystrokes).
    public func send(_ bytes: some Collection<UInt8>) async throws {
        try await outbound.write(.binary(ByteBuffer(bytes: bytes)))
    }

    public func resize(_ size: TerminalSize) async throws {
        try await sendFrame(TerminalFrame.Client(resize: size))
    }

    /// A signal to the shell's process group (`INT`, `SIGTERM`, …).
    public func signal(_ name: String) async throws {
        try await sendFrame(TerminalFrame.Client(signal: name))
    }

    public func close() async throws {
        try await outbound.close(.normalClosure, reason: nil)
    }

    private func sendFrame(_ frame: TerminalFrame.Client) async throws {
        try await outbound.write(.text(String(decoding: try WireJSON.encode(frame), as: UTF8.self)))
    }

    /// A server message as `Incoming` (nil for a text frame that is not one of the contract's).
    public static func decode(_ message: WebSocketMessage) -> Incoming? {
        switch message {
        case .binary(let buffer): .output(buffer)
        case .text(let text): (try? WireJSON.decode(TerminalFrame.Server.self, from: Array(text.utf8))).map(Incoming.frame)
        }
    }
}

extension SpawnerClient {
    /// Opens a session's terminal: a new login shell of `size`, or (with `execId`) the running
    /// one after `sinceSeq`. `body` gets the socket to write to and the server's messages; the
    /// call returns the server's close frame once the socket has closed.
    @discardableResult
    public func terminal(
        _ sessionId: String, size: TerminalSize?, execId: String? = nil, sinceSeq: UInt64? = nil, logger: Logger = Logger(label: "spawner-terminal"),
        _ body: @escaping @Sendable (TerminalSocket, WebSocketInboundMessageStream) async throws -> Void
    ) async throws -> WebSocketCloseFrame? {
        let path = Self.terminalPath(sessionId, size: size, execId: execId, sinceSeq: sinceSeq)
        var headers = HTTPFields()
        for (name, value) in terminalHeaders(path) { headers[HTTPField.Name(name)!] = value }
        let scheme = baseURL.hasPrefix("https://") ? "wss://" : "ws://"
        let authority = baseURL.split(separator: "://", maxSplits: 1).last.map(String.init) ?? baseURL
        return try await WebSocketClient.connect(
            url: scheme + authority + path,
            configuration: WebSocketClientConfiguration(maxFrameSize: 1 << 20, additionalHeaders: headers),
            tlsConfiguration: scheme == "wss://" ? (tlsConfiguration ?? .makeClientConfiguration()) : nil,
            logger: logger
        ) { inbound, outbound, _ in
            try await body(TerminalSocket(outbound: outbound), inbound.messages(maxSize: 4 << 20))
        }
    }
}
