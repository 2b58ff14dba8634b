import Glibc
import SystemSupport

/// The exec shim's report on its status pipe: nothing when it exec'd the command, else
/// `"<stage> <errno>\n"` (Sources/RunnerdExecShim/main.c, `rd_fail`).
public enum ShimStatus {
    /// Where a launch through the shim stopped.
    public enum Stage: Equatable, Sendable {
        /// The command itself could not be exec'd (not found, not executable, …).
        case exec
        /// A hardening step before it, as the shim names it (`setuid`, `seccomp-load`, …).
        case hardening(String)
        /// The shim neither exec'd nor reported within the timeout.
        case silent
        /// The status pipe could not be read.
        case unreadable

        /// The stage's name in a message.
        public var name: String {
            switch self {
            case .exec: "exec"
            case .hardening(let name): name
            case .silent: "timeout"
            case .unreadable: "poll"
            }
        }

        init(reported name: Substring) {
            self = name == "exec" ? .exec : .hardening(String(name))
        }
    }

    /// How long the shim has to exec or report.
    public static let timeoutMs: Int32 = 5_000

    /// Reads the shim's report after a spawn, blocking: nil when the command was exec'd, else
    /// the stage that failed and its errno.
    public static func read(_ fd: CInt, timeoutMs: Int32 = timeoutMs) -> (stage: Stage, errno: Int32)? {
        switch StatusPipe.awaitClose(fd, timeoutMs: timeoutMs) {
        case .timedOut: return (.silent, ETIMEDOUT)
        case .failed(let error): return (.unreadable, error.errno)
        case .closed(let report): return parse(report)
        }
    }

    /// The report's first line as a stage and an errno; nil for an empty report (the exec).
    static func parse(_ report: [UInt8]) -> (stage: Stage, errno: Int32)? {
        guard !report.isEmpty else { return nil }
        let text = String(decoding: report, as: UTF8.self).split(separator: "\n").first ?? ""
        let parts = text.split(separator: " ")
        return (Stage(reported: parts.first ?? "unknown"), parts.count > 1 ? Int32(parts[1]) ?? EIO : EIO)
    }
}
