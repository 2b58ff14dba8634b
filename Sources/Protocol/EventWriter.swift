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

/// A minimal writer of one flat JSON object, with correct string escaping.
struct JSONObjectWriter {
    private var buffer: ByteBuffer
    private var first = true

    init(buffer: ByteBuffer) {
        self.buffer = buffer
        self.buffer.writeStaticString("{")
    }

    private mutating func key(_ name: String) {
        if !first { buffer.writeStaticString(",") }
        first = false
        JSONObjectWriter.writeString(name, into: &buffer)
        buffer.writeStaticString(":")
    }

    mutating func field(_ name: String, _ value: String) {
        key(name)
        JSONObjectWriter.writeString(value, into: &buffer)
    }

    mutating func field(_ name: String, _ value: Int64) {
        key(name)
        buffer.writeString(String(value))
    }

    mutating func field(_ name: String, _ value: UInt64) {
        key(name)
        buffer.writeString(String(value))
    }

    mutating func field(_ name: String, _ value: Bool) {
        key(name)
        buffer.writeString(value ? "true" : "false")
    }

    mutating func rawField(_ name: String, _ json: String) {
        key(name)
        buffer.writeString(json)
    }

    mutating func finish() -> ByteBuffer {
        buffer.writeStaticString("}")
        return buffer
    }

    static func writeString(_ string: String, into buffer: inout ByteBuffer) {
        buffer.writeStaticString("\"")
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): buffer.writeStaticString("\\\"")
            case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
            case UInt8(ascii: "\n"): buffer.writeStaticString("\\n")
            case UInt8(ascii: "\r"): buffer.writeStaticString("\\r")
            case UInt8(ascii: "\t"): buffer.writeStaticString("\\t")
            case 0..<0x20:
                buffer.writeStaticString("\\u00")
                buffer.writeInteger(hex[Int(byte >> 4)])
                buffer.writeInteger(hex[Int(byte & 0xF)])
            default:
                buffer.writeInteger(byte)
            }
        }
        buffer.writeStaticString("\"")
    }
}
