import Glibc

/// Operations on directory trees that someone else built (an agent's workspace): iterative,
/// with an explicit stack instead of recursion, never following a symlink, and with a bounded
/// number of descriptors open however deep the tree is.
public enum DirectoryTree {
    /// At most this many directories of one tree are held open at once. Deeper subdirectories
    /// are moved up to the top of the tree being removed (a rename within it) and removed from
    /// there, so a 100,000-deep tree costs neither stack nor 100,000 descriptors.
    public static let maxOpenDepth = 64

    /// Removes the entry `name` of the directory `parent`: a file, a symlink (never its target)
    /// or a whole directory tree. Directories this process may not write or search are made
    /// so first (they are being removed anyway). Throws `ENOENT` when there is nothing to remove.
    public static func remove(_ name: String, in parent: CInt) throws(SystemError) {
        if unlinkat(parent, name, 0) == 0 { return }
        let code = errno
        guard code == EISDIR || code == EPERM else { throw SystemError("unlinkat(\(name))", errno: code) }
        var remover = TreeRemover()
        defer { remover.closeAll() }
        try remover.run(name, in: parent)
    }

    /// `remove(_:in:)` of the last component of `path`, in the directory that holds it.
    public static func remove(atPath path: String) throws(SystemError) {
        let slash = path.lastIndex(of: "/")
        let parentPath = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let parent = try Syscall.open(parentPath, O_RDONLY | O_DIRECTORY)
        defer { Syscall.close(parent) }
        try remove(name, in: parent)
    }
}

/// One directory being emptied: its descriptor, its entries as listed, and how far it got.
private struct Frame {
    let fd: CInt
    /// Its name in the directory below it on the stack (or in the caller's parent).
    let name: String
    var entries: [String]
    var next = 0
    var listings = 1
}

private struct TreeRemover {
    private var stack: [Frame] = []
    private var moved = 0

    mutating func closeAll() {
        for frame in stack { Syscall.close(frame.fd) }
        stack.removeAll()
    }

    mutating func run(_ name: String, in parent: CInt) throws(SystemError) {
        stack.append(try open(name, in: parent))
        while !stack.isEmpty {
            let top = stack.count - 1
            if stack[top].next < stack[top].entries.count {
                let entry = stack[top].entries[stack[top].next]
                stack[top].next += 1
                try removeEntry(entry, of: top)
                continue
            }
            // Everything listed is gone: anything that appeared meanwhile is listed again (a
            // bounded number of times), then the directory itself goes.
            let relisted = try Syscall.listDirectory(fd: stack[top].fd)
            if !relisted.isEmpty {
                guard stack[top].listings < 8 else {
                    throw SystemError("remove \(stack[top].name): entries keep appearing", errno: ENOTEMPTY)
                }
                stack[top].entries = relisted
                stack[top].next = 0
                stack[top].listings += 1
                continue
            }
            let done = stack.removeLast()
            Syscall.close(done.fd)
            let holder = stack.last?.fd ?? parent
            if unlinkat(holder, done.name, AT_REMOVEDIR) == 0 || errno == ENOENT { continue }
            guard errno == EACCES else { throw SystemError("rmdir(\(done.name))") }
            try Syscall.makeOwnerAccessible(holder)
            if unlinkat(holder, done.name, AT_REMOVEDIR) != 0 && errno != ENOENT { throw SystemError("rmdir(\(done.name))") }
        }
    }

    /// Removes one entry of the directory at `level`: unlinks a file, descends into a directory
    /// (or moves it up to the top of the tree when the stack is full).
    private mutating func removeEntry(_ entry: String, of level: Int) throws(SystemError) {
        let fd = stack[level].fd
        var permissionFixed = false
        // The entry may change kind under us (the agent is still running): look again, a few times.
        for _ in 0..<8 {
            if unlinkat(fd, entry, 0) == 0 { return }
            switch errno {
            case ENOENT:
                return
            case EACCES where !permissionFixed:
                // Not writable by us (an agent's chmod): it is being removed, make it so.
                permissionFixed = true
                try Syscall.makeOwnerAccessible(fd)
                continue
            case EISDIR, EPERM:
                break
            default:
                throw SystemError("unlinkat(\(entry))")
            }
            if stack.count >= DirectoryTree.maxOpenDepth {
                // Deep enough: move the subtree to the top of the tree and remove it from there.
                moved += 1
                let aside = ".runnerd-rm-\(moved)-\(String(UInt64.random(in: 0...UInt64.max), radix: 16))"
                if renameat(fd, entry, stack[0].fd, aside) == 0 {
                    stack[0].entries.append(aside)
                    return
                }
                if errno == ENOENT { return }
                // Cannot be moved (a mount point): descend anyway, up to a hard limit.
                guard stack.count < 4096 else { throw SystemError("remove: tree deeper than 4096 levels that cannot be moved", errno: ELOOP) }
            }
            do throws(SystemError) {
                stack.append(try open(entry, in: fd))
                return
            } catch {
                switch error.errno {
                case ENOENT: return
                case ENOTDIR, ELOOP: continue  // replaced by a file or a symlink: unlink that
                default: throw error
                }
            }
        }
        throw SystemError("remove \(entry): it keeps changing", errno: EAGAIN)
    }

    /// Opens a directory to empty it, never following a symlink, making it readable if needed.
    private func open(_ name: String, in parent: CInt) throws(SystemError) -> Frame {
        let fd: CInt
        do throws(SystemError) {
            fd = try Syscall.openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
        } catch {
            guard error.errno == EACCES else { throw error }
            let path = try Syscall.openat(parent, name, O_PATH | O_DIRECTORY | O_NOFOLLOW)
            defer { Syscall.close(path) }
            try Syscall.makeOwnerAccessible(path)
            fd = try Syscall.openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
        }
        do throws(SystemError) {
            return Frame(fd: fd, name: name, entries: try Syscall.listDirectory(fd: fd))
        } catch {
            Syscall.close(fd)
            throw error
        }
    }
}
