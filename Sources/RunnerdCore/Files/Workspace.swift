import Glibc
import SystemSupport

/// The directory tree every cwd and file path must stay under, with race-free resolution.
///
/// A path (relative to the root, or absolute inside it) is walked one component at a time with
/// `openat(O_PATH|O_NOFOLLOW)` on the directory fd held from the previous step, so the kernel
/// never re-resolves a string. Symlinks are followed by splicing their target into the walk: a
/// relative target continues from the directory holding the link, an absolute one must name a
/// path inside the workspace and restarts from the root; `..` never climbs above the root. The
/// directory the walk ends in is then checked, by device and inode walking `..` upwards, to
/// still be under the root, which defeats a directory renamed out of the workspace mid-walk.
/// Operations then act with `*at()` calls relative to that directory fd.
public final class Workspace: Sendable {
    /// The workspace root as configured and as resolved by `realpath`.
    public let path: String
    public let realPath: String
    private let rootFD: CInt
    private let rootIdentity: FileIdentity
    /// A directory inside the workspace that no path may enter (runnerd's state dir).
    private let reservedIdentity: FileIdentity?

    public enum ResolveError: Error, Equatable, Sendable {
        case notFound(String)
        case escapes(String)
        case notADirectory(String)
        case tooManyLinks(String)
        case reserved(String)
        /// A NUL byte: C would cut the path there, so it can never be taken literally.
        case invalid(String)
        /// The path kept changing under the walk (a symlink and a directory swapped in a loop).
        case changing(String)
        /// The walk went deeper than `Workspace.maxDepth` directories.
        case tooDeep(String)
        /// A component is longer than a file name can be (`NAME_MAX`, 255 bytes).
        case nameTooLong(String)
        case system(SystemError)
    }

    /// The end of a walk: a directory under the root and the final component in it (nil when
    /// the path names the directory itself). The caller owns `directory`.
    public struct Location {
        public let directory: CInt
        public let name: String?
    }

    /// Directories a walk may descend at most (each holds a descriptor until the walk ends, and
    /// `isBeneathRoot` climbs back at most this far): deeper is refused, not a descriptor
    /// exhaustion.
    public static let maxDepth = 4096

    /// - reserving: an open directory (runnerd's state dir) that no path may name or enter.
    public init(path: String, reserving reserved: CInt? = nil) throws(SystemError) {
        self.path = path
        self.realPath = try Syscall.realpath(path)
        self.rootFD = try Syscall.openat(AT_FDCWD, realPath, O_PATH | O_DIRECTORY)
        self.rootIdentity = FileIdentity(try Syscall.fstat(rootFD))
        self.reservedIdentity = try reserved.map { fd throws(SystemError) in FileIdentity(try Syscall.fstat(fd)) }
    }

    deinit { Syscall.close(rootFD) }

    // MARK: Operations on top of the walk

    /// Opens the directory `path` names for reading; the caller owns the fd.
    public func openDirectory(_ path: String) throws(ResolveError) -> CInt {
        let location = try locate(path, followFinalSymlink: true)
        defer { Syscall.close(location.directory) }
        guard let name = location.name else {
            return try reopen(location.directory, ".", O_RDONLY | O_DIRECTORY, path)
        }
        return try reopen(location.directory, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, path)
    }

    /// Resolves `path` to an `O_PATH` fd of whatever it names; the caller owns the fd.
    public func resolve(_ path: String) throws(ResolveError) -> CInt {
        let location = try locate(path, followFinalSymlink: true)
        defer { Syscall.close(location.directory) }
        return try reopen(location.directory, location.name ?? ".", O_PATH | O_NOFOLLOW, path)
    }

    /// Opens the regular file `path` names for reading; the caller owns the fd.
    public func openFileForReading(_ path: String) throws(ResolveError) -> CInt {
        let location = try locate(path, followFinalSymlink: true)
        defer { Syscall.close(location.directory) }
        guard let name = location.name else { throw .notADirectory(path) }
        return try reopen(location.directory, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, path)
    }

    private func reopen(_ directory: CInt, _ name: String, _ flags: CInt, _ path: String) throws(ResolveError) -> CInt {
        do {
            return try Syscall.openat(directory, name, flags)
        } catch {
            switch error.errno {
            case ENOENT: throw .notFound(path)
            case ENOTDIR: throw .notADirectory(path)
            case ELOOP: throw .tooManyLinks(path)
            default: throw .system(error)
            }
        }
    }

    /// Whether `fd` is runnerd's own state directory (which no path may enter).
    public func isReserved(_ fd: CInt) -> Bool {
        guard let reservedIdentity, let info = try? Syscall.fstat(fd) else { return false }
        return FileIdentity(info) == reservedIdentity
    }

    /// Where the directory `fd` is now, relative to the root (`""` for the root itself); nil
    /// when it is not under the root.
    public func relativePath(of fd: CInt) -> String? {
        guard (try? isBeneathRoot(fd)) == true, let path = try? Syscall.readlinkat(AT_FDCWD, "/proc/self/fd/\(fd)") else { return nil }
        if path == realPath { return "" }
        let prefix = realPath.hasSuffix("/") ? realPath : realPath + "/"
        return path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : nil
    }

    // MARK: The walk

    /// Walks `path` to the directory holding its final component.
    ///
    /// - followFinalSymlink: true is "target mode" (read, list, cwd): a final symlink is
    ///   followed and a final directory is walked into (name nil). false is "entry mode" (stage,
    ///   delete): the final component is returned as it is, symlink or directory.
    /// - createDirectories: missing intermediate directories are created (mode 0755), owned by
    ///   this uid/gid when given.
    public func locate(
        _ path: String, followFinalSymlink: Bool, createDirectories: Bool = false, owner: (uid: UInt32, gid: UInt32)? = nil
    ) throws(ResolveError) -> Location {
        guard !path.utf8.contains(0) else { throw .invalid(path) }
        guard var pending = relativeComponents(of: path) else { throw .escapes(path) }
        if pending.contains(where: { $0.utf8.count > Int(NAME_MAX) }) { throw .nameTooLong(path) }
        pending.reverse()  // a stack: the last element is the next component
        var stack: [CInt] = []
        var links = 0
        var races = 0
        /// The entry changed kind between two steps on it: look at it again, a bounded number of times.
        func retry(_ component: String) throws(ResolveError) {
            races += 1
            if races > 64 { throw .changing(path) }
            pending.append(component)
        }
        func current() -> CInt { stack.last ?? rootFD }
        defer { for fd in stack { Syscall.close(fd) } }

        var finalName: String?
        while let component = pending.popLast() {
            if component == ".." {
                guard let top = stack.popLast() else { throw .escapes(path) }
                Syscall.close(top)
                continue
            }
            let status: stat?
            do { status = try Syscall.entryStatus(component, in: current()) } catch { throw .system(error) }
            let isLast = pending.isEmpty
            guard let info = status else {
                if isLast {
                    finalName = component
                    break
                }
                guard createDirectories else { throw .notFound(path) }
                do { try Syscall.makeSubdirectory(component, in: current(), mode: 0o755) } catch { throw .system(error) }
                if let owner { Syscall.giveEntry(component, in: current(), to: owner.uid, owner.gid) }
                pending.append(component)  // walk into it like any directory
                continue
            }
            if info.st_mode & S_IFMT == S_IFLNK && (!isLast || followFinalSymlink) {
                links += 1
                if links > 40 { throw .tooManyLinks(path) }
                let target: String
                do {
                    target = try Syscall.readlinkat(current(), component)
                } catch {
                    // No longer a symlink (EINVAL) or gone (ENOENT): it changed since the fstatat.
                    guard error.errno == EINVAL || error.errno == ENOENT else { throw .system(error) }
                    links -= 1
                    try retry(component)
                    continue
                }
                if target.hasPrefix("/") {
                    guard let inside = relativeComponents(of: target) else { throw .escapes(path) }
                    for fd in stack { Syscall.close(fd) }
                    stack.removeAll()
                    pending.append(contentsOf: inside.reversed())
                } else {
                    pending.append(contentsOf: components(target).reversed())
                }
                continue
            }
            // Entry mode (final symlinks not followed) names the final entry itself, even a
            // directory; target mode walks into a final directory.
            if isLast && (!followFinalSymlink || info.st_mode & S_IFMT != S_IFDIR) {
                if let reservedIdentity, FileIdentity(info) == reservedIdentity { throw .reserved(path) }
                finalName = component
                break
            }
            guard info.st_mode & S_IFMT == S_IFDIR else { throw .notADirectory(path) }
            let fd: CInt
            do {
                fd = try Syscall.openat(current(), component, O_PATH | O_NOFOLLOW | O_DIRECTORY)
            } catch {
                // Swapped for something else between the fstatat and the open: look again.
                guard error.errno == ENOTDIR || error.errno == ELOOP || error.errno == ENOENT else { throw .system(error) }
                try retry(component)
                continue
            }
            stack.append(fd)
            if stack.count > Self.maxDepth { throw .tooDeep(path) }
            if let reservedIdentity, (try? FileIdentity(Syscall.fstat(fd))) == reservedIdentity {
                throw .reserved(path)
            }
        }
        let directory: CInt
        do { directory = try Syscall.duplicate(current()) } catch { throw .system(error) }
        let beneath: Bool
        do throws(ResolveError) {
            beneath = try isBeneathRoot(directory)
        } catch {
            Syscall.close(directory)
            throw error
        }
        guard beneath else {
            Syscall.close(directory)
            throw .escapes(path)
        }
        return Location(directory: directory, name: finalName)
    }

    /// Walks `..` from a directory fd until the root (beneath) or `/` (escaped).
    private func isBeneathRoot(_ fd: CInt) throws(ResolveError) -> Bool {
        var current: CInt
        do { current = try Syscall.duplicate(fd) } catch { throw .system(error) }
        defer { Syscall.close(current) }
        for _ in 0...Self.maxDepth {
            let identity: FileIdentity
            do { identity = FileIdentity(try Syscall.fstat(current)) } catch { throw .system(error) }
            if identity == rootIdentity { return true }
            let parent: CInt
            do { parent = try Syscall.openat(current, "..", O_PATH | O_DIRECTORY) } catch { throw .system(error) }
            let parentIdentity: FileIdentity
            do { parentIdentity = FileIdentity(try Syscall.fstat(parent)) } catch {
                Syscall.close(parent)
                throw .system(error)
            }
            Syscall.close(current)
            current = parent
            if parentIdentity == identity { return false }  // reached "/"
        }
        return false
    }

    /// The components of `path` relative to the root, or nil for an absolute path outside it.
    func relativeComponents(of path: String) -> [String]? {
        guard path.hasPrefix("/") else { return components(path) }
        for prefix in [realPath, self.path] {
            let trimmed = prefix.hasSuffix("/") ? String(prefix.dropLast()) : prefix
            if path == trimmed { return [] }
            if trimmed.isEmpty || path.hasPrefix(trimmed + "/") {
                return components(String(path.dropFirst(trimmed.count)))
            }
        }
        return nil
    }

    private func components(_ path: String) -> [String] {
        path.split(separator: "/", omittingEmptySubsequences: true).map(String.init).filter { $0 != "." }
    }
}

/// Device and inode: what identifies a file regardless of its path.
struct FileIdentity: Equatable {
    let device: UInt64
    let inode: UInt64
    init(_ info: stat) {
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
    }
}
