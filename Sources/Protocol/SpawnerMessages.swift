import NIOCore

// The spawner's wire types (section 2 of the contract). Every one is defined here once and
// shared by the spawner, its client library and the CLI.

/// Who a session belongs to: `{kind, id}` (e.g. `{"kind":"user","id":"alice"}`).
public struct SessionOwner: Codable, Hashable, Sendable, CustomStringConvertible {
    public var kind: String
    public var id: String

    public init(kind: String, id: String) {
        self.kind = kind
        self.id = id
    }

    public var description: String { "\(kind):\(id)" }
}

/// The life of a session: `creating` → `ready` → `stopping` → `gone`.
public enum SessionState: String, Codable, Sendable, CaseIterable {
    case creating, ready, stopping, gone
}

/// What the spawner says about a session.
public struct SessionInfo: Codable, Equatable, Sendable {
    public var sessionId: String
    public var owner: SessionOwner
    public var orgId: String
    public var profile: String
    /// The backend that runs it (`local`, `docker`, `kubernetes`).
    public var backend: String
    public var state: SessionState
    public var createdAtMs: Int64
    public var lastActivityAtMs: Int64
    /// `createdAtMs + ttlMs`: the sweep destroys the session at this time.
    public var expiresAtMs: Int64
    /// Addition: idle time after which the sweep destroys a session with no running exec
    /// (`0`: never).
    public var idleTimeoutMs: Int64?
    /// Addition (issue 15): what confines the session's agents, as its runnerd's `/healthz`
    /// said when the session became ready or was adopted (nil when runnerd did not say).
    public var confinement: Confinement?

    public init(
        sessionId: String, owner: SessionOwner, orgId: String, profile: String, backend: String, state: SessionState,
        createdAtMs: Int64, lastActivityAtMs: Int64, expiresAtMs: Int64, idleTimeoutMs: Int64? = nil, confinement: Confinement? = nil
    ) {
        self.sessionId = sessionId
        self.owner = owner
        self.orgId = orgId
        self.profile = profile
        self.backend = backend
        self.state = state
        self.createdAtMs = createdAtMs
        self.lastActivityAtMs = lastActivityAtMs
        self.expiresAtMs = expiresAtMs
        self.idleTimeoutMs = idleTimeoutMs
        self.confinement = confinement
    }
}

/// `POST /v1/sessions`.
public struct CreateSessionRequest: Codable, Equatable, Sendable {
    /// Chosen by the caller (`[a-z0-9-]{1,63}`) or, when absent, by the spawner.
    public var sessionId: String?
    public var owner: SessionOwner
    public var orgId: String
    public var profile: String?
    /// The sandbox image (container backends; the local backend ignores it).
    public var image: String?
    /// Seeds the session's env store (runnerd `POST /env`), never a command line.
    public var env: [String: String]?
    public var ttlMs: Int64?
    public var idleTimeoutMs: Int64?

    public init(
        sessionId: String? = nil, owner: SessionOwner, orgId: String, profile: String? = nil, image: String? = nil,
        env: [String: String]? = nil, ttlMs: Int64? = nil, idleTimeoutMs: Int64? = nil
    ) {
        self.sessionId = sessionId
        self.owner = owner
        self.orgId = orgId
        self.profile = profile
        self.image = image
        self.env = env
        self.ttlMs = ttlMs
        self.idleTimeoutMs = idleTimeoutMs
    }

    /// The checks the spawner applies before creating anything; the message says what is wrong.
    public func validationError() -> String? {
        if let sessionId, !Identifier.isValidSessionID(sessionId) { return "sessionId must match [a-z0-9-]{1,63}" }
        if owner.kind.isEmpty || owner.id.isEmpty { return "owner.kind and owner.id must not be empty" }
        if orgId.isEmpty { return "orgId must not be empty" }
        if let ttlMs, !Bounds.ttlMs.contains(ttlMs) { return OutOfRange(field: "ttlMs", range: Bounds.ttlMs).message }
        if let idleTimeoutMs, !Bounds.idleTimeoutMs.contains(idleTimeoutMs) {
            return OutOfRange(field: "idleTimeoutMs", range: Bounds.idleTimeoutMs).message
        }
        if let env {
            if env.count > Limits.envMaxEntries { return "env has more than \(Limits.envMaxEntries) entries" }
            for (name, value) in env.sorted(by: { $0.key < $1.key }) {
                if !EnvPolicy.isAllowed(name) { return "env name \(name) is not allowed" }
                if value.utf8.count > Limits.envMaxValueBytes || value.utf8.contains(0) { return "env value of \(name) is too long or contains NUL" }
            }
        }
        return nil
    }
}

/// `GET /v1/sessions`.
public struct SessionList: Codable, Equatable, Sendable {
    public var sessions: [SessionInfo]
    public init(sessions: [SessionInfo]) { self.sessions = sessions }
}

/// `GET /healthz` of the spawner.
public struct SpawnerHealth: Codable, Equatable, Sendable {
    public var ok: Bool
    public var version: String
    public var backend: String
    public var sessions: Int
    public init(ok: Bool, version: String, backend: String, sessions: Int) {
        self.ok = ok
        self.version = version
        self.backend = backend
        self.sessions = sessions
    }
}

/// The `error` values of the spawner's non-2xx answers (bodies are `ErrorBody`).
public enum SpawnerErrorKind {
    public static let unauthorized = "unauthorized"
    public static let badRequest = "bad_request"
    public static let notFound = "not_found"
    public static let conflict = "conflict"
    public static let sessionNotReady = "session_not_ready"
    public static let payloadTooLarge = "payload_too_large"
    /// Past a cap the contract's `"...cap reached"` text: one per cap.
    public static let totalCapReached = "session cap reached"
    public static let orgCapReached = "org session cap reached"
    public static let ownerCapReached = "owner session cap reached"
    public static let createFailed = "create_failed"
    public static let badGateway = "bad_gateway"
    public static let internalError = "internal"
    public static let methodNotAllowed = "method_not_allowed"
    /// The request's body did not arrive within the spawner's body timeout.
    public static let requestTimeout = "request_timeout"
    /// Too many request bodies are being read at once; retry.
    public static let busy = "busy"
    /// runnerd did not answer within the route's timeout.
    public static let gatewayTimeout = "gateway_timeout"
    /// A WebSocket endpoint (the terminal) asked for without the upgrade.
    public static let upgradeRequired = "upgrade_required"
    /// Something the route needs is not installed (the web terminal's xterm.js).
    public static let unavailable = "unavailable"
}

/// One Server-Sent Events message of an exec stream: `event:` = the event's `t`, `id:` =
/// its `seq`, `data:` = the event's JSON line, exactly as runnerd wrote it.
public enum SSEFrame {
    /// The SSE message for one NDJSON event line (without its newline), or nil when the line
    /// is not an event (no `t`/`seq`). One allocation of the exact size: output lines are
    /// tens of KB, and a buffer that grows copies them twice.
    public static func encode(line: ByteBuffer) -> ByteBuffer? {
        guard let (kind, seq) = kindAndSeq(of: line) else { return nil }
        var message = start(kind: kind, seq: seq, capacity: line.readableBytes + 2)
        message.writeImmutableBuffer(line)
        message.writeStaticString(end)
        return message
    }

    /// A message's first bytes, `event: KIND\nid: SEQ\ndata: `, in a buffer with room for
    /// `capacity` more: the line and `end` follow.
    public static func start(kind: String, seq: UInt64, capacity: Int) -> ByteBuffer {
        let head = "event: \(kind)\nid: \(seq)\ndata: "
        var message = ByteBufferAllocator().buffer(capacity: head.utf8.count + capacity)
        message.writeString(head)
        return message
    }

    /// What ends a message after its line.
    public static let end: StaticString = "\n\n"

    /// `t` and `seq` from the canonical prefix alone (nil for any other shape): usable on the
    /// first bytes of a line whose end has not arrived yet.
    public static func canonicalKindAndSeq(of lineStart: ByteBuffer) -> (kind: String, seq: UInt64)? {
        lineStart.withUnsafeReadableBytes(scanCanonicalPrefix)
    }

    /// `t` and `seq` of an event line, found by a scan of the canonical prefix
    /// `{"seq":N,"t":"KIND"` that `EventWriter` writes; a line of any other shape is decoded.
    public static func kindAndSeq(of line: ByteBuffer) -> (kind: String, seq: UInt64)? {
        if let fast = canonicalKindAndSeq(of: line) { return fast }
        guard let header = try? WireJSON.decode(EventHeader.self, from: line.readableBytesView) else { return nil }
        return (header.t, header.seq)
    }

    private struct EventHeader: Decodable {
        var t: String
        var seq: UInt64
    }

    private static let seqPrefix = Array(#"{"seq":"#.utf8)
    private static let kindInfix = Array(#","t":""#.utf8)

    static func scanCanonicalPrefix(_ bytes: UnsafeRawBufferPointer) -> (kind: String, seq: UInt64)? {
        func matches(_ literal: [UInt8], at offset: Int) -> Bool {
            guard offset + literal.count <= bytes.count else { return false }
            for (i, byte) in literal.enumerated() where bytes[offset + i] != byte { return false }
            return true
        }
        guard matches(seqPrefix, at: 0) else { return nil }
        var index = seqPrefix.count
        var seq: UInt64 = 0
        let digitsStart = index
        // At most 19 digits: no overflow; a longer number takes the decoding path.
        while index < bytes.count, index - digitsStart < 19, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
            seq = seq * 10 + UInt64(bytes[index] - UInt8(ascii: "0"))
            index += 1
        }
        guard index > digitsStart, matches(kindInfix, at: index) else { return nil }
        index += kindInfix.count
        let kindStart = index
        while index < bytes.count, index - kindStart < 16, bytes[index] >= UInt8(ascii: "a"), bytes[index] <= UInt8(ascii: "z") {
            index += 1
        }
        guard index > kindStart, index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
        return (String(decoding: UnsafeRawBufferPointer(rebasing: bytes[kindStart..<index]), as: UTF8.self), seq)
    }
}

/// Where the spawner's HMAC secret comes from, for the server and every client alike:
/// the file named by `SPAWNER_SECRET_FILE` (it wins) or `SPAWNER_SECRET`; a trailing line
/// end is not part of it.
public enum SpawnerSecret {
    public static let minimumBytes = 32

    /// Why no usable secret was found.
    public struct Problem: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// The secret; `file` (a flag) overrides `SPAWNER_SECRET_FILE`.
    public static func load(
        environment: [String: String], file: String? = nil, readFile: (String) throws -> [UInt8]
    ) throws(Problem) -> [UInt8] {
        var secret: [UInt8]
        if let path = file ?? environment["SPAWNER_SECRET_FILE"] {
            do {
                secret = try readFile(path)
            } catch {
                throw Problem(description: "cannot read the secret file \(path): \(error)")
            }
        } else if let inline = environment["SPAWNER_SECRET"] {
            secret = Array(inline.utf8)
        } else {
            throw Problem(description: "no secret: set SPAWNER_SECRET or SPAWNER_SECRET_FILE (at least \(minimumBytes) bytes)")
        }
        while let last = secret.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") { secret.removeLast() }
        guard secret.count >= minimumBytes else {
            throw Problem(description: "the secret has \(secret.count) bytes; at least \(minimumBytes) are required")
        }
        return secret
    }
}
