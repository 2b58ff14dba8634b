import CRunnerdShim
import Glibc

/// inotify: a non-blocking, close-on-exec instance, watches on it, and its event records.
public enum Inotify {
    /// A new instance's descriptor (the caller owns it).
    public static func open() throws(SystemError) -> CInt {
        try Syscall.retrying("inotify_init1") { cshim_inotify_init() }
    }

    /// Watches the directory an open descriptor refers to (through `/proc/self/fd`, so no path
    /// is resolved again). Returns the watch descriptor.
    public static func watchDirectory(_ inotify: CInt, directoryFD: CInt, mask: UInt32) throws(SystemError) -> CInt {
        try Syscall.retrying("inotify_add_watch") {
            inotify_add_watch(inotify, "/proc/self/fd/\(directoryFD)", mask | UInt32(IN_ONLYDIR))
        }
    }

    public static func removeWatch(_ inotify: CInt, _ watch: CInt) {
        _ = inotify_rm_watch(inotify, watch)
    }

    /// One record of an inotify read.
    public struct Event: Equatable, Sendable {
        public var watch: CInt
        public var mask: UInt32
        public var cookie: UInt32
        /// The entry's name in the watched directory (empty for events on the directory itself).
        public var name: String

        public var isDirectory: Bool { mask & UInt32(IN_ISDIR) != 0 }
        public func has(_ flag: Int32) -> Bool { mask & UInt32(bitPattern: flag) != 0 }
    }

    /// The bytes of a read, decoded into records (a truncated tail is ignored: the kernel never
    /// splits a record across reads).
    public static func decode(_ bytes: UnsafeRawBufferPointer) -> [Event] {
        var events: [Event] = []
        let header = MemoryLayout<inotify_event>.size
        var offset = 0
        while offset + header <= bytes.count {
            let watch = bytes.loadUnaligned(fromByteOffset: offset, as: Int32.self)
            let mask = bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
            let cookie = bytes.loadUnaligned(fromByteOffset: offset + 8, as: UInt32.self)
            let length = Int(bytes.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
            guard offset + header + length <= bytes.count else { break }
            let raw = UnsafeRawBufferPointer(rebasing: bytes[(offset + header)..<(offset + header + length)])
            let name = String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            events.append(Event(watch: watch, mask: mask, cookie: cookie, name: name))
            offset += header + length
        }
        return events
    }
}
