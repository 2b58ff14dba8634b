import Glibc
import SystemSupport

/// What `/proc` says about processes: the fields of `stat` the spawner needs, command lines,
/// the boot id, and the list of pids. Reads only; every answer is a snapshot.
enum ProcessTable {
    /// Fields of `/proc/PID/stat`.
    struct Stat: Equatable, Sendable {
        /// `R`, `S`, `D`, `Z` (zombie), `T`, …
        var state: UInt8
        var parent: pid_t
        var session: pid_t
        /// Clock ticks after boot at which the process started: with the boot id, it tells a
        /// process from a later one that got the same pid.
        var startTime: UInt64

        var isZombie: Bool { state == UInt8(ascii: "Z") || state == UInt8(ascii: "X") }
    }

    static func stat(_ pid: pid_t) -> Stat? {
        guard let bytes = try? Syscall.readFile("/proc/\(pid)/stat", limit: 4096),
            let close = bytes.lastIndex(of: UInt8(ascii: ")"))
        else { return nil }
        // After "pid (comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt
        // cmajflt utime stime cutime cstime priority nice threads itrealvalue starttime …
        let fields = bytes[(close + 1)...].split(separator: UInt8(ascii: " "))
        guard fields.count > 19, let state = fields[0].first,
            let parent = Int32(String(decoding: fields[1], as: UTF8.self)),
            let session = Int32(String(decoding: fields[3], as: UTF8.self)),
            let start = UInt64(String(decoding: fields[19], as: UTF8.self))
        else { return nil }
        return Stat(state: state, parent: parent, session: session, startTime: start)
    }

    /// The argv of a process (empty for a zombie or a kernel thread).
    static func commandLine(_ pid: pid_t) -> [String]? {
        guard let bytes = try? Syscall.readFile("/proc/\(pid)/cmdline", limit: 1 << 16) else { return nil }
        return bytes.split(separator: 0, omittingEmptySubsequences: false).dropLast().map { String(decoding: $0, as: UTF8.self) }
    }

    /// This boot's id: start times only compare within one boot.
    static let bootID: String = {
        let bytes = (try? Syscall.readFile("/proc/sys/kernel/random/boot_id", limit: 128)) ?? []
        return String(decoding: bytes, as: UTF8.self).trimmingWhitespace()
    }()

    /// Every pid in `/proc`.
    static func allPIDs() -> [pid_t] {
        guard let dir = opendir("/proc") else { return [] }
        defer { closedir(dir) }
        var pids: [pid_t] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if let pid = pid_t(name) { pids.append(pid) }
        }
        return pids
    }

    /// Sessions led by the children of `parent`: runnerd starts every exec as a session leader.
    static func sessionsLedByChildren(of parent: pid_t) -> Set<pid_t> {
        var sessions: Set<pid_t> = []
        for pid in allPIDs() {
            guard let info = stat(pid), info.parent == parent else { continue }
            sessions.insert(info.session)
        }
        sessions.remove(parent)
        return sessions
    }

    /// Processes (not zombies) whose session is one of `sessions`.
    static func members(ofSessions sessions: Set<pid_t>) -> [pid_t] {
        guard !sessions.isEmpty else { return [] }
        return allPIDs().filter { pid in
            guard let info = stat(pid) else { return false }
            return sessions.contains(info.session) && !info.isZombie
        }
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}
