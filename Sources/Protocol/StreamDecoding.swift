import NIOCore

/// Cuts a byte stream into frames (NDJSON lines, SSE messages), holding at most one partial
/// frame between chunks.
public protocol StreamFramer: Sendable {
    associatedtype Frame: Sendable
    /// Adds bytes; returns the frames they complete.
    mutating func append(_ chunk: ByteBuffer) throws -> [Frame]
    /// A frame was begun and not finished (at end of stream: the stream was cut).
    var hasPartialFrame: Bool { get }
    /// The error a stream that ends inside a frame fails with.
    static var truncated: any Error { get }
}

/// The frames of a body of `ByteBuffer` chunks, pulled with the body's backpressure; a body
/// that ends inside a frame fails with `Framer.truncated`.
public struct FramedSequence<Base: AsyncSequence & Sendable, Framer: StreamFramer>: AsyncSequence, Sendable
where Base.Element == ByteBuffer {
    public typealias Element = Framer.Frame
    public let base: Base
    let framer: Framer

    public init(base: Base, framer: Framer) {
        self.base = base
        self.framer = framer
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: Base.AsyncIterator
        var framer: Framer
        var ready: [Framer.Frame] = []
        var index = 0

        public mutating func next() async throws -> Framer.Frame? {
            while index == ready.count {
                guard let chunk = try await base.next() else {
                    if framer.hasPartialFrame { throw Framer.truncated }
                    return nil
                }
                ready = try framer.append(chunk)
                index = 0
            }
            defer { index += 1 }
            return ready[index]
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: base.makeAsyncIterator(), framer: framer)
    }
}

/// The elements of `Base` (frames), each decoded into an `Element` (an event).
public struct DecodedSequence<Base: AsyncSequence & Sendable, Element>: AsyncSequence, Sendable {
    public let base: Base
    let decode: @Sendable (Base.Element) throws -> Element

    public init(base: Base, decode: @escaping @Sendable (Base.Element) throws -> Element) {
        self.base = base
        self.decode = decode
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: Base.AsyncIterator
        let decode: @Sendable (Base.Element) throws -> Element

        public mutating func next() async throws -> Element? {
            guard let frame = try await base.next() else { return nil }
            return try decode(frame)
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: base.makeAsyncIterator(), decode: decode)
    }
}
