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

extension NDJSONLineSplitter: StreamFramer {
    public var hasPartialFrame: Bool { unfinishedBytes > 0 }
    public static var truncated: any Error { RunnerdClientError.truncatedStream }
}

/// The NDJSON lines of an HTTP body, as an async sequence with the body's backpressure.
public typealias NDJSONLineSequence<Base: AsyncSequence & Sendable> = FramedSequence<Base, NDJSONLineSplitter> where Base.Element == ByteBuffer

extension FramedSequence where Framer == NDJSONLineSplitter {
    /// The lines of an NDJSON body, pulled with the body's backpressure.
    public init(body: Base) {
        self.init(base: body, framer: NDJSONLineSplitter())
    }
}

/// An exec's events as decoded `ExecEvent`s.
public typealias ExecEventSequence<Base: AsyncSequence & Sendable> = DecodedSequence<NDJSONLineSequence<Base>, ExecEvent> where Base.Element == ByteBuffer

extension DecodedSequence where Element == ExecEvent {
    /// Each line decoded by `EventReader`.
    public init<Body>(lines: NDJSONLineSequence<Body>) where Base == NDJSONLineSequence<Body> {
        self.init(base: lines) { try EventReader.decode($0) }
    }
}
