import NIOCore
import RunnerProtocol

/// Splits a byte stream into `\n`-terminated lines (without the newline).
public struct NDJSONLineSplitter: Sendable {
    private var pending = ByteBuffer()
    public init() {}

    /// Adds bytes; returns the complete lines they finish.
    public mutating func append(_ chunk: ByteBuffer) -> [ByteBuffer] {
        var chunk = chunk
        if pending.readableBytes == 0 {
            pending = chunk
        } else {
            pending.writeBuffer(&chunk)
        }
        var lines: [ByteBuffer] = []
        while let newline = pending.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
            let length = newline - pending.readerIndex
            lines.append(pending.readSlice(length: length)!)
            pending.moveReaderIndex(forwardBy: 1)
        }
        if pending.readableBytes == 0 {
            pending.clear()
        } else if pending.readerIndex > 1 << 20 {
            pending.discardReadBytes()
        }
        return lines
    }

    /// Bytes of an unfinished line (non-zero at end of stream means it was cut).
    public var unfinishedBytes: Int { pending.readableBytes }
}

/// The NDJSON lines of an HTTP body, as an async sequence with the body's backpressure.
public struct NDJSONLineSequence<Base: AsyncSequence & Sendable>: AsyncSequence, Sendable where Base.Element == ByteBuffer {
    public typealias Element = ByteBuffer
    let base: Base

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
                ready = splitter.append(chunk)
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
