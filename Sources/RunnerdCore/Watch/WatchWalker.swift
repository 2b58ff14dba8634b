import Glibc
import RunnerProtocol
import SystemSupport

/// Arms inotify watches on a directory and, recursively, every directory below it.
///
/// The walk is iterative and never follows a symlink: each directory is opened with `openat`
/// relative to its parent's descriptor (`O_NOFOLLOW`), and watched through `/proc/self/fd`,
/// so no path is resolved twice. runnerd's state directory is skipped. At most `budget`
/// watches are added and `maxDepth` levels descended; past either, `limited` is set.
enum WatchWalker {
    /// (Not `IN_DONT_FOLLOW`: the path watched is the `/proc/self/fd` link to an open directory,
    /// which must be followed; no symlink of the workspace is.)
    static let mask = UInt32(IN_CREATE | IN_MODIFY | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF)
        | UInt32(IN_EXCL_UNLINK)
    static let maxDepth = 128

    struct Result: Sendable {
        /// Watches added, with their directory's path.
        var watches: [(watch: Int32, path: String)] = []
        /// What the walk found below the start (when listing): a directory that just appeared
        /// may have filled before its watch existed, so these become `create` events.
        var entries: [(path: String, type: FsWatchEvent.EntryType)] = []
        var limited = false
    }

    private struct Frame {
        let fd: CInt
        let path: String
        var names: [String]
        let ownsFD: Bool
    }

    /// Walks from `directory` (an open directory, not consumed) at `path`.
    static func walk(
        inotify: CInt, directory: CInt, path: String, workspace: Workspace, recursive: Bool, budget: Int, listEntries: Bool
    ) -> Result {
        var result = Result()
        guard budget > 0 else {
            result.limited = true
            return result
        }
        guard let watch = try? Inotify.watchDirectory(inotify, directoryFD: directory, mask: mask) else {
            result.limited = true
            return result
        }
        result.watches.append((watch, path))
        guard recursive || listEntries else { return result }
        var stack = [Frame(fd: directory, path: path, names: sortedNames(directory), ownsFD: false)]
        defer { for frame in stack where frame.ownsFD { Syscall.close(frame.fd) } }
        while !stack.isEmpty {
            guard let name = stack[stack.count - 1].names.popLast() else {
                let frame = stack.removeLast()
                if frame.ownsFD { Syscall.close(frame.fd) }
                continue
            }
            let parent = stack[stack.count - 1]
            let childPath = WatchTree.join(parent.path, name)
            guard let info = (try? Syscall.entryStatus(name, in: parent.fd)) ?? nil else { continue }
            guard info.st_mode & S_IFMT == S_IFDIR else {
                if listEntries { result.entries.append((childPath, .file)) }
                continue
            }
            guard let child = try? Syscall.openat(parent.fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK) else { continue }
            if workspace.isReserved(child) {
                Syscall.close(child)
                continue
            }
            if listEntries { result.entries.append((childPath, .dir)) }
            guard recursive else {
                Syscall.close(child)
                continue
            }
            guard result.watches.count < budget, stack.count < maxDepth,
                let childWatch = try? Inotify.watchDirectory(inotify, directoryFD: child, mask: mask)
            else {
                result.limited = true
                Syscall.close(child)
                continue
            }
            result.watches.append((childWatch, childPath))
            stack.append(Frame(fd: child, path: childPath, names: sortedNames(child), ownsFD: true))
        }
        return result
    }

    /// A directory's names, last first (the walk pops from the end: alphabetical order).
    private static func sortedNames(_ fd: CInt) -> [String] {
        ((try? Syscall.listDirectory(fd: fd)) ?? []).sorted(by: >)
    }
}
