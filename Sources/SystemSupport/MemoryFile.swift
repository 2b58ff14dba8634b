import CRunnerdShim
import Glibc

/// An anonymous, close-on-exec file in memory holding given bytes: data for a child that must
/// not arrive through its argv or environment (the exec shim's agent environment).
public enum MemoryFile {
    /// A new memory file holding `contents`; the caller closes it. Readers should use `pread`
    /// from offset 0: the descriptor's offset is at the end.
    public static func create(_ name: String, contents: [UInt8]) throws(SystemError) -> CInt {
        let fd = try Syscall.retrying("memfd_create") { cshim_memfd_create(name) }
        do {
            try Syscall.writeAll(fd, contents)
        } catch {
            Syscall.close(fd)
            throw error
        }
        return fd
    }

    /// `entries` as NUL-terminated strings, back to back (an environment block).
    public static func nulTerminated(_ entries: [String]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(entries.reduce(0) { $0 + $1.utf8.count + 1 })
        for entry in entries {
            bytes.append(contentsOf: entry.utf8)
            bytes.append(0)
        }
        return bytes
    }
}
