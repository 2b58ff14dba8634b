/// The JSON text frames of the spawner's terminal WebSocket (`GET /v1/sessions/{sid}/terminal`).
///
/// Binary frames carry raw terminal bytes both ways; each binary frame from the server is
/// exactly one `stdout` event of the terminal's exec, so a client that counts them knows the
/// seq to re-attach after (`sinceSeq`).
public enum TerminalFrame {
    /// What a client sends as text: `{"resize":{"cols":C,"rows":R}}` or `{"signal":"INT"}`.
    public struct Client: Codable, Equatable, Sendable {
        public var resize: TerminalSize?
        public var signal: String?
        public init(resize: TerminalSize? = nil, signal: String? = nil) {
            self.resize = resize
            self.signal = signal
        }
    }

    /// What the server sends as text: `exec` first (addition: which exec this is and the seq its
    /// first binary frame follows), `gap` when output was lost to a re-attach (addition),
    /// `exit` last (then close 1000), or `fail` when the shell could not start (then close 1011).
    public struct Server: Codable, Equatable, Sendable {
        public var exec: Attached?
        public var gap: ExecEvent.Gap?
        public var exit: ExecEvent.Exit?
        public var fail: ExecEvent.Fail?
        public init(exec: Attached? = nil, gap: ExecEvent.Gap? = nil, exit: ExecEvent.Exit? = nil, fail: ExecEvent.Fail? = nil) {
            self.exec = exec
            self.gap = gap
            self.exit = exit
            self.fail = fail
        }
    }

    /// The exec behind a terminal WebSocket.
    public struct Attached: Codable, Equatable, Sendable {
        public var execId: String
        /// The seq the first binary frame follows (the seq of the frame k, counting from 1, is
        /// `afterSeq + k` unless a `gap` frame says otherwise).
        public var afterSeq: UInt64
        public init(execId: String, afterSeq: UInt64) {
            self.execId = execId
            self.afterSeq = afterSeq
        }
    }
}
