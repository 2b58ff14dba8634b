import CRunnerdShim
import Glibc
import SystemSupport

/// The directory tree every cwd (and file path) must stay under, with race-free resolution.
///
/// Resolution walks the path one component at a time with `openat(O_PATH|O_NOFOLLOW)` on the
/// directory fd held from the previous step, so no string is ever re-resolved by the kernel.
/// Symlinks are followed by splicing their target into the walk: a relative target continues
/// from the directory that holds the link, an absolute one must name a path inside the workspace
/// and restarts from its root; `..` never climbs above the root. Finally the resolved directory
/// is checked, by device and inode walking `..` upwards, to still sit under the root, which
/// defeats a directory renamed out of the workspace mid-walk.
public final class Workspace: Sendable {
    /// The workspace root as configured and as resolved by `realpath`.
    public let path: String
    public let realPath: String
    private let rootFD: CInt
    private let rootIdentity: FileIdentity

    public enum ResolveError: Error, Equatable, Sendable {
        case notFound(String)
        case escapes(String)
        case notADirectory(String)
        case tooManyLinks(String)
        case system(SystemError)
    }

    public init(path: String) throws(SystemError) {
        self.path = path
        self.realPath = try Syscall.realpath(path)
        self.rootFD = try Syscall.openat(AT_FDCWD, realPath, O_PATH | O_DIRECTORY)
        self.rootIdentity = FileIdentity(try Syscall.fstat(rootFD))
    }

    deinit { Syscall.close(rootFD) }

    /// Opens the directory `path` names (relative to the root, or absolute inside it) for reading;
    /// the caller owns the returned fd.
    public func openDirectory(_ path: String) throws(ResolveError) -> CInt {
        let resolved = try resolve(path)
        defer { Syscall.close(resolved) }
        let info: stat
        do throws(SystemError) { info = try Syscall.fstat(resolved) } catch { throw .system(error) }
        guard info.st_mode & S_IFMT == S_IFDIR else { throw .notADirectory(path) }
        do throws(SystemError) {
            return try Syscall.openat(resolved, ".", O_RDONLY | O_DIRECTORY)
        } catch {
            throw .system(error)
        }
    }

    /// Resolves `path` to an `O_PATH` fd of whatever it names, inside the workspace.
    public func resolve(_ path: String) throws(ResolveError) -> CInt {
        guard var pending = relativeComponents(of: path) else { throw .escapes(path) }
        pending.reverse()  // a stack: last element is the next component
        var stack: [CInt] = []
        var links = 0
        func current() -> CInt { stack.last ?? rootFD }
        defer { for fd in stack { Syscall.close(fd) } }

        while let component = pending.popLast() {
            if component == ".." {
                guard let top = stack.popLast() else { throw .escapes(path) }
                Syscall.close(top)
                continue
            }
            let fd: CInt
            do throws(SystemError) {
                fd = try Syscall.openat(current(), component, O_PATH | O_NOFOLLOW)
            } catch {
                if error.errno == ENOENT || error.errno == ENOTDIR { throw .notFound(path) }
                throw .system(error)
            }
            let info: stat
            do throws(SystemError) { info = try Syscall.fstat(fd) } catch {
                Syscall.close(fd)
                throw .system(error)
            }
            guard info.st_mode & S_IFMT == S_IFLNK else {
                stack.append(fd)
                continue
            }
            Syscall.close(fd)
            links += 1
            if links > 40 { throw .tooManyLinks(path) }
            let target: String
            do throws(SystemError) { target = try Syscall.readlinkat(current(), component) } catch { throw .system(error) }
            if target.hasPrefix("/") {
                guard let inside = relativeComponents(of: target) else { throw .escapes(path) }
                for fd in stack { Syscall.close(fd) }
                stack.removeAll()
                pending.append(contentsOf: inside.reversed())
            } else {
                pending.append(contentsOf: components(target).reversed())
            }
        }
        // The directory that was walked into last must still be under the root; for a
        // non-directory that is its parent.
        let result = Glibc.fcntl(current(), F_DUPFD_CLOEXEC, 0)
        guard result >= 0 else { throw .system(SystemError("fcntl(F_DUPFD_CLOEXEC)")) }
        let isDirectory: Bool
        do throws(SystemError) { isDirectory = try Syscall.fstat(result).st_mode & S_IFMT == S_IFDIR } catch {
            Syscall.close(result)
            throw .system(error)
        }
        let directory = isDirectory ? result : (stack.count >= 2 ? stack[stack.count - 2] : rootFD)
        guard try isBeneathRoot(directory) else {
            Syscall.close(result)
            throw .escapes(path)
        }
        return result
    }

    /// Walks `..` from a directory fd until the root (beneath) or `/` (escaped).
    private func isBeneathRoot(_ fd: CInt) throws(ResolveError) -> Bool {
        var current = Glibc.fcntl(fd, F_DUPFD_CLOEXEC, 0)
        guard current >= 0 else { throw .system(SystemError("fcntl(F_DUPFD_CLOEXEC)")) }
        defer { Syscall.close(current) }
        for _ in 0..<4096 {
            let info: stat
            do throws(SystemError) { info = try Syscall.fstat(current) } catch { throw .system(error) }
            let identity = FileIdentity(info)
            if identity == rootIdentity { return true }
            let parent: CInt
            do throws(SystemError) { parent = try Syscall.openat(current, "..", O_PATH | O_DIRECTORY) } catch { throw .system(error) }
            let parentIdentity: FileIdentity
            do throws(SystemError) { parentIdentity = FileIdentity(try Syscall.fstat(parent)) } catch {
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
