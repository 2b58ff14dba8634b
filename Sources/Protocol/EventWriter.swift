import NIOCore

/// Writes exec events as canonical NDJSON lines (`{"seq":…,"t":…,…}\n`).
///
/// Hand-written because every output byte of every exec passes through it: the output path
/// encodes base64 straight from the pipe's buffer into the line, with no intermediate values.
/// `ExecEvent`'s `Decodable` conformance reads what this writes (tested both ways).
public enum EventWriter {
    /// The largest line for an output chunk of `count` bytes.
    public static func outputLineCapacity(_ count: Int) -> Int { 48 + Base64.encodedLength(count) }

    /// Appends a `stdout`/`stderr` line for `bytes`.
    public static func writeOutput(seq: UInt64, stderr: Bool, bytes: UnsafeRawBufferPointer, into buffer: inout ByteBuffer) {
        buffer.reserveCapacity(minimumWritableBytes: outputLineCapacity(bytes.count))
        buffer.writeStaticString("{\"seq\":")
        buffer.writeString(String(seq))
        buffer.writeStaticString(stderr ? ",\"t\":\"stderr\",\"b64\":\"" : ",\"t\":\"stdout\",\"b64\":\"")
        Base64.encode(bytes, into: &buffer)
        buffer.writeStaticString("\"}\n")
    }

    /// Appends `event` as one line.
    public static func write(_ event: ExecEvent, into buffer: inout ByteBuffer) {
        switch event.body {
        case .stdout(let bytes), .stderr(let bytes):
            bytes.withUnsafeBytes { writeOutput(seq: event.seq, stderr: event.kind == .stderr, bytes: $0, into: &buffer) }
            return
        default:
            break
        }
        var json = JSONObjectWriter(buffer: buffer)
        json.field("seq", event.seq)
        json.field("t", event.kind.rawValue)
        switch event.body {
        case .start(let start):
            json.field("execId", start.execId)
            json.field("startedAtMs", start.startedAtMs)
            json.field("pid", Int64(start.pid))
        case .exit(let exit):
            json.field("exitCode", Int64(exit.exitCode))
            json.field("durationMs", exit.durationMs)
            json.rawField("truncated", "{\"stdout\":\(exit.truncated.stdout),\"stderr\":\(exit.truncated.stderr)}")
            json.field("timedOut", exit.timedOut)
            json.field("cancelled", exit.cancelled)
            if let signal = exit.signal { json.field("signal", signal) }
            if let lost = exit.lost { json.field("lost", lost) }
        case .fail(let fail):
            json.field("code", fail.code.rawValue)
            json.field("message", fail.message)
        case .gap(let gap):
            json.field("fromSeq", gap.fromSeq)
            json.field("toSeq", gap.toSeq)
        case .stdout, .stderr:
            break
        }
        buffer = json.finish()
        buffer.writeStaticString("\n")
    }

    /// One event as a standalone line.
    public static func line(_ event: ExecEvent) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: 128)
        write(event, into: &buffer)
        return buffer
    }
}

/// A minimal writer of one flat JSON object, with correct string escaping: the fast path for
/// the lines runnerd writes on every exec (events, journal headers).
public struct JSONObjectWriter {
    private var buffer: ByteBuffer
    private var first = true

    /// Starts an object at the end of `buffer`.
    public init(buffer: ByteBuffer) {
        self.buffer = buffer
        self.buffer.writeStaticString("{")
    }

    private mutating func key(_ name: String) {
        if !first { buffer.writeStaticString(",") }
        first = false
        JSONObjectWriter.writeString(name, into: &buffer)
        buffer.writeStaticString(":")
    }

    public mutating func field(_ name: String, _ value: String) {
        key(name)
        JSONObjectWriter.writeString(value, into: &buffer)
    }

    public mutating func field(_ name: String, _ value: Int64) {
        key(name)
        buffer.writeString(String(value))
    }

    public mutating func field(_ name: String, _ value: UInt64) {
        key(name)
        buffer.writeString(String(value))
    }

    public mutating func field(_ name: String, _ value: Bool) {
        key(name)
        buffer.writeString(value ? "true" : "false")
    }

    /// A field whose value is already JSON.
    public mutating func rawField(_ name: String, _ json: String) {
        key(name)
        buffer.writeString(json)
    }

    /// Closes the object and returns the buffer.
    public mutating func finish() -> ByteBuffer {
        buffer.writeStaticString("}")
        return buffer
    }

    /// Writes `string` as a JSON string: runs that need no escaping are copied whole.
    public static func writeString(_ string: String, into buffer: inout ByteBuffer) {
        buffer.writeStaticString("\"")
        var string = string
        string.withUTF8 { utf8 in
            var runStart = 0
            for index in 0..<utf8.count {
                let byte = utf8[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                if index > runStart { buffer.writeBytes(UnsafeBufferPointer(rebasing: utf8[runStart..<index])) }
                runStart = index + 1
                switch byte {
                case UInt8(ascii: "\""): buffer.writeStaticString("\\\"")
                case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
                case UInt8(ascii: "\n"): buffer.writeStaticString("\\n")
                case UInt8(ascii: "\r"): buffer.writeStaticString("\\r")
                case UInt8(ascii: "\t"): buffer.writeStaticString("\\t")
                default:
                    buffer.writeStaticString("\\u00")
                    buffer.writeInteger(hexDigit(byte >> 4))
                    buffer.writeInteger(hexDigit(byte & 0xF))
                }
            }
            if utf8.count > runStart { buffer.writeBytes(UnsafeBufferPointer(rebasing: utf8[runStart..<utf8.count])) }
        }
        buffer.writeStaticString("\"")
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }
}
