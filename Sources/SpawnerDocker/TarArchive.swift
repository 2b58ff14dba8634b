import SpawnerCore
/// A POSIX ustar archive of regular files, built in memory: how a file reaches a container's
/// filesystem through `PUT /containers/{id}/archive` without a command in the container.
struct TarArchive {
    struct Entry {
        /// A relative path, at most 100 bytes.
        var name: String
        var mode: UInt32
        var uid: UInt32 = 0
        var gid: UInt32 = 0
        var contents: [UInt8]
    }

    private(set) var bytes: [UInt8] = []

    /// Appends a regular file.
    mutating func append(_ entry: Entry) {
        precondition(!entry.name.isEmpty && entry.name.utf8.count <= 100, "tar names here are short relative paths")
        var header = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, at offset: Int) {
            for (index, byte) in text.utf8.enumerated() { header[offset + index] = byte }
        }
        /// An octal number of `width - 1` digits and a NUL.
        func octal(_ value: UInt64, at offset: Int, width: Int) {
            let digits = String(value, radix: 8)
            put(String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits, at: offset)
        }
        put(entry.name, at: 0)
        octal(UInt64(entry.mode), at: 100, width: 8)
        octal(UInt64(entry.uid), at: 108, width: 8)
        octal(UInt64(entry.gid), at: 116, width: 8)
        octal(UInt64(entry.contents.count), at: 124, width: 12)
        octal(0, at: 136, width: 12)  // mtime
        put("        ", at: 148)  // the checksum field counts as spaces while summing
        header[156] = UInt8(ascii: "0")  // regular file
        put("ustar\0", at: 257)
        put("00", at: 263)
        put("root", at: 265)
        put("root", at: 297)
        let checksum = header.reduce(0) { $0 + UInt64($1) }
        let digits = String(checksum, radix: 8)
        put(String(repeating: "0", count: max(0, 6 - digits.count)) + digits, at: 148)
        header[154] = 0
        header[155] = UInt8(ascii: " ")

        bytes += header
        bytes += entry.contents
        bytes += [UInt8](repeating: 0, count: (512 - entry.contents.count % 512) % 512)
    }

    /// The archive with its end marker (two zero blocks).
    var finished: [UInt8] { bytes + [UInt8](repeating: 0, count: 1024) }
}
