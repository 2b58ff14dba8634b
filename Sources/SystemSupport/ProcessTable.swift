import Glibc
import SystemSupport

/// What `/proc` says about processes: the fields of `stat` runnerd and the spawner need,
/// command lines, the boot id, and the list of pids. Reads only; every answer is a snapshot.
public enum ProcessTable {
    /// Fields of `/proc/PID/stat`.
    public struct Stat: Equatable, Sendable {
        /// `R`, `S`, `D`, `Z` (zombie), `T`, …
        public var state: UInt8
        public var parent: pid_t
        /// The process group.
        public var group: pid_t
        public var session: pid_t
        /// Clock ticks after boot at which the process started: with the boot id, it tells a
        /// process from a later one that got the same pid.
        public var startTime: UInt64
        /// CPU time used so far, in clock ticks (`utime` + `stime`).
        public var cpuTicks: UInt64

        public var isZombie: Bool { state == UInt8(ascii: "Z") || state == UInt8(ascii: "X") }
    }

    /// The `startTime` ticks of a process started at `bootTimeNs` (`Syscall.bootTimeNs`): a
    /// spawn bracketed by two readings of the clock has its start time between their ticks,
    /// without reading `/proc` on the spawn path.
    public static func startTicks(bootTimeNs: UInt64) -> UInt64 {
        bootTimeNs / (1_000_000_000 / clockTicksPerSecond)
    }

    /// `sysconf(_SC_CLK_TCK)`: the unit of `startTime` and `cpuTicks`.
    public static let clockTicksPerSecond = UInt64(max(1, sysconf(Int32(_SC_CLK_TCK))))

    public static func stat(_ pid: pid_t) -> Stat? {
        guard let bytes = try? Syscall.readFile("/proc/\(pid)/stat", limit: 4096),
            let close = bytes.lastIndex(of: UInt8(ascii: ")"))
        else { return nil }
        // After "pid (comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt
        // cmajflt utime stime cutime cstime priority nice threads itrealvalue starttime …
        let fields = bytes[(close + 1)...].split(separator: UInt8(ascii: " "))
        guard fields.count > 19, let state = fields[0].first,
            let parent = Int32(String(decoding: fields[1], as: UTF8.self)),
            let group = Int32(String(decoding: fields[2], as: UTF8.self)),
            let session = Int32(String(decoding: fields[3], as: UTF8.self)),
            let start = UInt64(String(decoding: fields[19], as: UTF8.self)),
            let user = UInt64(String(decoding: fields[11], as: UTF8.self)),
            let system = UInt64(String(decoding: fields[12], as: UTF8.self))
        else { return nil }
        return Stat(state: state, parent: parent, group: group, session: session, startTime: start, cpuTicks: user + system)
    }

    /// The argv of a process (empty for a zombie or a kernel thread).
    public static func commandLine(_ pid: pid_t) -> [String]? {
        guard let bytes = try? Syscall.readFile("/proc/\(pid)/cmdline", limit: 1 << 16) else { return nil }
        return bytes.split(separator: 0, omittingEmptySubsequences: false).dropLast().map { String(decoding: $0, as: UTF8.self) }
    }

    /// The real uid of a process (`Uid:` in `/proc/PID/status`).
    public static func realUID(_ pid: pid_t) -> UInt32? {
        guard let bytes = try? Syscall.readFile("/proc/\(pid)/status", limit: 8192) else { return nil }
        for line in bytes.split(separator: UInt8(ascii: "\n")) where line.starts(with: Array("Uid:".utf8)) {
            let fields = line.dropFirst(4).split(whereSeparator: { $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: " ") })
            return fields.first.flatMap { UInt32(String(decoding: $0, as: UTF8.self)) }
        }
        return nil
    }

    /// Wall-clock epoch milliseconds of a `startTime` (clock ticks after boot).
    public static func startedAtMs(startTime: UInt64) -> Int64 {
        let bootedAtMs = Syscall.nowMs() - Int64(Syscall.bootTimeNs() / 1_000_000)
        return bootedAtMs + Int64(startTime * 1000 / clockTicksPerSecond)
    }

    /// Every process below `ancestor` (children, their children, …) with its `stat`, from one
    /// pass over `/proc`.
    public static func descendants(of ancestor: pid_t) -> [(pid: pid_t, stat: Stat)] {
        var byParent: [pid_t: [(pid: pid_t, stat: Stat)]] = [:]
        for pid in allPIDs() {
            guard let info = stat(pid) else { continue }
            byParent[info.parent, default: []].append((pid, info))
        }
        var result: [(pid: pid_t, stat: Stat)] = []
        var pending = [ancestor]
        while let parent = pending.popLast() {
            for child in byParent[parent] ?? [] where child.pid != ancestor {
                result.append(child)
                pending.append(child.pid)
            }
        }
        return result
    }

    /// Whether `pid` is below `ancestor`, following parents in `/proc`.
    public static func isDescendant(_ pid: pid_t, of ancestor: pid_t) -> Bool {
        var current = pid
        for _ in 0..<4096 {
            guard current > 1, let info = stat(current) else { return false }
            if info.parent == ancestor { return true }
            current = info.parent
        }
        return false
    }

    /// This boot's id: start times only compare within one boot.
    public static let bootID: String = {
        let bytes = (try? Syscall.readFile("/proc/sys/kernel/random/boot_id", limit: 128)) ?? []
        return String(decoding: bytes, as: UTF8.self).trimmingWhitespace()
    }()

    /// Every pid in `/proc`.
    public static func allPIDs() -> [pid_t] {
        ((try? Syscall.listDirectory("/proc")) ?? []).compactMap { pid_t($0) }
    }

    /// Sessions led by the children of `parent`: runnerd starts every exec as a session leader.
    public static func sessionsLedByChildren(of parent: pid_t) -> Set<pid_t> {
        var sessions: Set<pid_t> = []
        for pid in allPIDs() {
            guard let info = stat(pid), info.parent == parent else { continue }
            sessions.insert(info.session)
        }
        sessions.remove(parent)
        return sessions
    }

    /// Processes (not zombies) whose session is one of `sessions`.
    public static func members(ofSessions sessions: Set<pid_t>) -> [pid_t] {
        guard !sessions.isEmpty else { return [] }
        return allPIDs().filter { pid in
            guard let info = stat(pid) else { return false }
            return sessions.contains(info.session) && !info.isZombie
        }
    }
}

extension String {
    /// The string without leading and trailing whitespace (FoundationEssentials-free).
    public func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}
