/// One Server-Sent Events message: its `event`, `id` and `data` fields.
public struct SSEMessage: Sendable {
    public var event: String?
    public var id: String?
    public var data: String
}

/// A `text/event-stream` body read message by message.
public final class SSEStream: @unchecked Sendable {
    let lines: LineStream
    let what: String

    init(lines: LineStream, what: String) {
        self.lines = lines
        self.what = what
    }

    /// The next message, or nil at the end of the stream.
    public func next() async throws -> SSEMessage? {
        var message = SSEMessage(event: nil, id: nil, data: "")
        var hasData = false
        while true {
            let line: [UInt8]?
            do {
                line = try await lines.nextLine()
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                throw CheckFailure("\(what): the stream broke: \(error)")
            }
            guard var bytes = line else { return hasData ? message : nil }
            if bytes.last == 0x0D { bytes.removeLast() }
            if bytes.isEmpty {
                if hasData || message.event != nil { return message }
                continue
            }
            if bytes.first == UInt8(ascii: ":") { continue }
            let text = String(decoding: bytes, as: UTF8.self)
            let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            let field = String(parts[0])
            var value = parts.count > 1 ? String(parts[1]) : ""
            if value.hasPrefix(" ") { value.removeFirst() }
            switch field {
            case "event": message.event = value
            case "id": message.id = value
            case "data":
                message.data += (hasData ? "\n" : "") + value
                hasData = true
            default: break
            }
        }
    }

    public func close() { lines.close() }
}
