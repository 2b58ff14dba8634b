import Dispatch
import Glibc
import NIOCore
import RunnerProtocol
import Synchronization
import SystemSupport

/// Downloads a URL into an open file with `curl`, run like an agent process: through the
/// hardening shim, as the agent uid, under seccomp, with RLIMIT_FSIZE at the 100 MiB cap.
///
/// Doing it in a child keeps an HTTP/TLS stack and remote TLS parsing out of PID 1 (and out of
/// runnerd's footprint). http and https only, redirects included; connect and total timeouts.
///
/// Nothing the agent wrote steers curl: `-q` (first) skips every `.curlrc`, `HOME` is a
/// directory the agent cannot write, and the URL travels as a quoted `url = "..."` line of a
/// config read from stdin, never as an argument (so it cannot be taken for an option, nor be
/// read by others from /proc/PID/cmdline).
public struct URLFetcher: Sendable {
    public let launcher: ProcessLauncher
    public let environment: [String]
    public let maxBytes: Int
    public let timeoutSeconds: Int

    /// curl's HOME: root's and never the agent's to write.
    static let home = "/"

    public init(hardening: HardeningPolicy, reaper: ProcessReaper, environment: [String], maxBytes: Int = Limits.urlFetchMaxBytes, timeoutSeconds: Int = 300) {
        var policy = hardening
        // One byte over the cap is where the kernel stops the write (SIGXFSZ / EFBIG).
        policy.fsize = .init(UInt64(maxBytes))
        self.launcher = ProcessLauncher(hardening: policy, reaper: reaper)
        self.environment = environment.filter { !$0.hasPrefix("HOME=") } + ["HOME=\(Self.home)"]
        self.maxBytes = maxBytes
        self.timeoutSeconds = timeoutSeconds
    }

    /// http(s), under 8 KiB, and no control character (a URL has none; one would end the
    /// config line that carries it).
    public static func isFetchable(_ url: String) -> Bool {
        let lower = url.lowercased()
        return (lower.hasPrefix("http://") || lower.hasPrefix("https://")) && url.utf8.count < 8192
            && !url.utf8.contains { $0 < 0x20 || $0 == 0x7f }
    }

    /// The curl config that names `url`: one double-quoted `url` line, with `\` and `"` escaped.
    static func config(for url: String) -> [UInt8] {
        var line = Array("url = \"".utf8)
        for byte in url.utf8 {
            if byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "\"") { line.append(UInt8(ascii: "\\")) }
            line.append(byte)
        }
        line += Array("\"\n".utf8)
        return line
    }

    /// curl's argv: `-q` must come first; the URL comes from the config on stdin.
    var argv: [String] {
        [
            "curl", "-q", "--config", "-", "--fail", "--silent", "--show-error", "--location", "--max-redirs", "5",
            "--proto", "=http,https", "--proto-redir", "=http,https",
            "--max-filesize", String(maxBytes), "--connect-timeout", "30", "--max-time", String(timeoutSeconds),
            "--output", "-",
        ]
    }

    /// Fetches `url` into `output` (an open, empty, writable file); nil on success, else the
    /// reason. Blocks the calling thread (a thread-pool thread) until curl exits.
    public func fetch(_ url: String, into output: CInt) -> String? {
        guard Self.isFetchable(url) else { return SkipReason.urlScheme }
        let errors: (read: CInt, write: CInt)
        let config: (read: CInt, write: CInt)
        do {
            config = try Syscall.pipe()
        } catch {
            return "fetch failed: \(error)"
        }
        defer { Syscall.close(config.read) }
        do {
            // Under 8 KiB: the pipe holds it all before curl starts.
            defer { Syscall.close(config.write) }
            try Syscall.writeAll(config.write, Self.config(for: url))
            errors = try Syscall.pipe()
        } catch {
            return "fetch failed: \(error)"
        }
        let done = ConditionBox()
        let spec = SpawnSpec(argv: argv, environment: environment, cwdFD: nil, stdin: config.read, stdout: output, stderr: errors.write)
        do {
            _ = try launcher.launch(spec) { status in done.set(status) }
        } catch {
            Syscall.close(errors.read)
            Syscall.close(errors.write)
            return "fetch failed: \(error.message(command: "curl"))"
        }
        Syscall.close(errors.write)
        let stderr = String(decoding: Syscall.drain(errors.read, keeping: 4096), as: UTF8.self)
        Syscall.close(errors.read)
        let status = done.wait()
        if status.terminatingSignal == SIGXFSZ { return SkipReason.fetchTooLarge }
        switch status.exitCode {
        case 0: return nil
        case 63: return SkipReason.fetchTooLarge
        case 23 where stderr.contains("too large") || stderr.contains("Failure writing"): return SkipReason.fetchTooLarge
        case 28: return "fetch timed out"
        default:
            let detail = stderr.split(separator: "\n").first.map { ": \($0)" } ?? ""
            return "fetch failed (curl exit \(status.exitCode))\(detail)"
        }
    }
}

/// A one-shot hand-off of a wait status from the reaper (on the event loop) to a waiting thread.
final class ConditionBox: Sendable {
    private let semaphore = DispatchSemaphore(value: 0)
    private let value = Mutex<WaitStatus?>(nil)

    func set(_ status: WaitStatus) {
        value.withLock { $0 = status }
        semaphore.signal()
    }

    func wait() -> WaitStatus {
        semaphore.wait()
        return value.withLock { $0! }
    }
}
