#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import RunnerProtocol

/// Splits a byte stream into `\n`-terminated lines (without the newline), each at most
/// `lineCap` bytes: a longer line ends the stream (`RunnerdClientError.lineTooLong`) rather
/// than growing a buffer for as long as the peer keeps sending.
public struct NDJSONLineSplitter: Sendable {
    private var pending = ByteBuffer()
    public let lineCap: Int

    public init(lineCap: Int = Limits.eventLineCapBytes) {
        self.lineCap = lineCap
    }

    /// Adds bytes; returns the complete lines they finish. Lines that lie wholly inside
    /// `chunk` are slices of it (no copy); only a line split across chunks is reassembled.
    public mutating func append(_ chunk: ByteBuffer) throws(RunnerdClientError) -> [ByteBuffer] {
        var chunk = chunk
        var lines: [ByteBuffer] = []
        if pending.readableBytes > 0 {
            guard let newline = Self.firstNewline(in: chunk) else {
                guard pending.readableBytes + chunk.readableBytes <= lineCap else { throw .lineTooLong(lineCap) }
                pending.writeBuffer(&chunk)
                return lines
            }
            var head = chunk.readSlice(length: newline - chunk.readerIndex)!
            chunk.moveReaderIndex(forwardBy: 1)
            guard pending.readableBytes + head.readableBytes <= lineCap else { throw .lineTooLong(lineCap) }
            pending.writeBuffer(&head)
            lines.append(pending)
            pending = ByteBuffer()
        }
        while let newline = Self.firstNewline(in: chunk) {
            guard newline - chunk.readerIndex <= lineCap else { throw .lineTooLong(lineCap) }
            lines.append(chunk.readSlice(length: newline - chunk.readerIndex)!)
            chunk.moveReaderIndex(forwardBy: 1)
        }
        if chunk.readableBytes > 0 {
            guard chunk.readableBytes <= lineCap else { throw .lineTooLong(lineCap) }
            pending = ByteBufferAllocator().buffer(capacity: max(chunk.readableBytes * 2, 4096))
            pending.writeBuffer(&chunk)
        }
        return lines
    }

    /// The index of the first `\n` of `buffer`'s readable bytes: `memchr`, which scans a
    /// word or a vector at a time (lines of output are ~87 KB of base64; a byte loop over
    /// them was a quarter of a proxy's CPU).
    public static func firstNewline(in buffer: ByteBuffer) -> Int? {
        buffer.withUnsafeReadableBytes { bytes -> Int? in
            guard let base = bytes.baseAddress, let found = memchr(base, Int32(UInt8(ascii: "\n")), bytes.count) else { return nil }
            return buffer.readerIndex + (UnsafeRawPointer(found) - base)
        }
    }

    /// Bytes of an unfinished line (non-zero at end of stream means it was cut).
    public var unfinishedBytes: Int { pending.readableBytes }
}

/// The NDJSON lines of an HTTP body, as an async sequence with the body's backpressure.
public struct NDJSONLineSequence<Base: AsyncSequence & Sendable>: AsyncSequence, Sendable where Base.Element == ByteBuffer {
    public typealias Element = ByteBuffer
    let base: Base

    /// The lines of an NDJSON body, pulled with the body's backpressure.
    public init(body: Base) {
        self.base = body
    }

    init(base: Base) {
        self.base = base
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: Base.AsyncIterator
        var splitter = NDJSONLineSplitter()
        var ready: [ByteBuffer] = []
        var index = 0

        public mutating func next() async throws -> ByteBuffer? {
            while index == ready.count {
                guard let chunk = try await base.next() else {
                    if splitter.unfinishedBytes > 0 { throw RunnerdClientError.truncatedStream }
                    return nil
                }
                ready = try splitter.append(chunk)
                index = 0
            }
            defer { index += 1 }
            return ready[index]
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: base.makeAsyncIterator())
    }
}

/// An exec's events as decoded `ExecEvent`s.
public struct ExecEventSequence<Base: AsyncSequence & Sendable>: AsyncSequence, Sendable where Base.Element == ByteBuffer {
    public typealias Element = ExecEvent
    public let lines: NDJSONLineSequence<Base>

    public struct AsyncIterator: AsyncIteratorProtocol {
        var lines: NDJSONLineSequence<Base>.AsyncIterator
        public mutating func next() async throws -> ExecEvent? {
            guard let line = try await lines.next() else { return nil }
            return try EventReader.decode(line)
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(lines: lines.makeAsyncIterator())
    }
}
