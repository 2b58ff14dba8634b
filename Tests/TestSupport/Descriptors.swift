import Foundation

/// The open descriptors of a process, from `/proc/PID/fd`.
public enum Descriptors {
    /// What each open descriptor of `pid` points to (`socket:[inode]`, `anon_inode:inotify`, a
    /// path, …); a descriptor closed while being read is left out. Throws when the directory
    /// cannot be read (no such process).
    public static func targets(of pid: Int32) throws -> [String] {
        let directory = "/proc/\(pid)/fd"
        return try FileManager.default.contentsOfDirectory(atPath: directory).compactMap {
            try? FileManager.default.destinationOfSymbolicLink(atPath: directory + "/" + $0)
        }
    }
}
