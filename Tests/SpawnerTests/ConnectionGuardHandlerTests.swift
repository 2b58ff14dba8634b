import NIOCore
import NIOEmbedded
@testable import SpawnerCore
import Testing

/// The connection guard on an `EmbeddedChannel`: admission to the governor on activation and
/// release on close, the first-head timer (a head cut anywhere, even across reads, stops it),
/// and a `101` answer marking the connection busy for good (the end-to-end behaviour is in
/// `ConnectionLimitTests`).
@Suite(.timeLimit(.minutes(1))) struct ConnectionGuardHandlerTests {
    static func channel(_ governor: ConnectionGovernor, headTimeout: TimeAmount = .seconds(5)) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel(handler: ConnectionGuardHandler(governor: governor, headTimeout: headTimeout))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }

    @Test func admitsOnActivationAndReleasesOnClose() throws {
        let governor = ConnectionGovernor(limit: 4)
        let channel = try Self.channel(governor)
        #expect(governor.openCount == 1)
        try channel.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\n\r\n"))
        // Bytes pass through unchanged.
        #expect(try channel.readInbound(as: ByteBuffer.self) == ByteBuffer(string: "GET / HTTP/1.1\r\n\r\n"))
        try channel.close().wait()
        #expect(governor.openCount == 0)
    }

    @Test func aConnectionThatSendsNoHeadIsClosedWhenItsTimerFires() throws {
        let governor = ConnectionGovernor(limit: 4)
        let channel = try Self.channel(governor, headTimeout: .seconds(5))
        try channel.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: x\r\n"))
        channel.embeddedEventLoop.advanceTime(by: .seconds(4))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive)
        #expect(governor.openCount == 0)
    }

    /// The end of the head split over reads (`\r\n` + `\r\n`, then `\r` + `\n\r\n`) still counts.
    @Test(arguments: [["GET / HTTP/1.1\r\nHost: x\r\n", "\r\n"], ["GET / HTTP/1.1\r\nHost: x\r", "\n\r", "\n"]])
    func aHeadCutAcrossReadsStopsTheTimer(_ pieces: [String]) throws {
        let governor = ConnectionGovernor(limit: 4)
        let channel = try Self.channel(governor, headTimeout: .seconds(5))
        for piece in pieces { try channel.writeInbound(ByteBuffer(string: piece)) }
        channel.embeddedEventLoop.advanceTime(by: .seconds(60))
        #expect(channel.isActive)
        try channel.close().wait()
    }

    /// A `101` first answer makes the connection busy for good: with the limit reached, a
    /// newcomer is refused rather than the terminal evicted; an ordinary idle one is evicted.
    @Test func anUpgradedConnectionIsNeverEvicted() throws {
        let governor = ConnectionGovernor(limit: 1)
        let terminal = try Self.channel(governor)
        try terminal.writeInbound(ByteBuffer(string: "GET /v1/sessions/s/terminal HTTP/1.1\r\nUpgrade: websocket\r\n\r\n"))
        try terminal.writeOutbound(IOData.byteBuffer(ByteBuffer(string: "HTTP/1.1 101 Switching Protocols\r\n\r\n")))
        let newcomer = try Self.channel(governor)
        #expect(!newcomer.isActive, "a newcomer took the terminal's place")
        #expect(terminal.isActive)
        try terminal.close().wait()

        let idle = try Self.channel(governor)
        try idle.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\n\r\n"))
        try idle.writeOutbound(IOData.byteBuffer(ByteBuffer(string: "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")))
        let next = try Self.channel(governor)
        #expect(next.isActive)
        #expect(!idle.isActive, "the idle connection was evicted for the newcomer")
        try next.close().wait()
    }
}
