import Glibc
import NIOCore
import NIOPosix
import RunnerProtocol
import SystemSupport

/// The workspace file API (`/files/stage`, `/files/delete`, `/fs/list`, `/fs/read`).
///
/// Every path goes through `Workspace.locate` and every operation is an `*at()` call on the
/// directory fd it returns, so no path can escape the workspace, by `..`, by a symlink, or by
/// a symlink swapped in mid-operation. Staged files are written to a temp file in the target
/// directory and renamed into place, owned by the agent uid. Blocking I/O runs on a thread
/// pool, never on the event loop.
///
/// Nothing the agent placed in the workspace steers these into a file it could not reach
/// itself. Reads and listings run with the agent's filesystem ids when agents have their own
/// uid (`FilesystemIdentity`, on the pool thread alone), so a hard link to a root-only file, or
/// a root-only file, is refused as it would be to the agent. Writes never open an existing
/// file: a stage writes a new temp file and renames it over the name, so a hard link there is
/// replaced and the file it linked to is left untouched; a delete unlinks names.
public final class WorkspaceFiles: Sendable {
    /// The agent's uid/gid: staged files (and created directories) belong to it, and reads
    /// run with it as the filesystem identity.
    public typealias Owner = FilesystemIdentity

    private let workspace: Workspace
    private let owner: Owner?
    private let fetcher: URLFetcher
    private let threadPool: NIOThreadPool

    public init(workspace: Workspace, owner: Owner?, fetcher: URLFetcher, threadPool: NIOThreadPool) {
        self.workspace = workspace
        self.owner = owner
        self.fetcher = fetcher
        self.threadPool = threadPool
    }

    /// Runs `body` under the agent's filesystem ids when agents have their own uid; `refused`
    /// answers when this thread cannot take them.
    private func asAgent<T>(refused: (String) -> T, _ body: () -> T) -> T {
        guard let owner else { return body() }
        do {
            return try owner.run(body)
        } catch {
            return refused(error.description)
        }
    }

    // MARK: Stage

    public func stage(_ request: StageRequest, on loop: any EventLoop) -> EventLoopFuture<StageResponse> {
        threadPool.runIfActive(eventLoop: loop) { [self] in
            var response = StageResponse()
            for file in request.files {
                switch stageOne(file) {
                case .success(let bytes): response.staged.append(StagedFile(path: file.path, bytes: bytes))
                case .failure(let skip): response.skipped.append(SkippedPath(path: file.path, reason: skip.reason))
                }
            }
            return response
        }
    }

    struct Skip: Error {
        let reason: String
        init(_ reason: String) { self.reason = reason }
    }

    private func stageOne(_ file: StageFile) -> Result<Int64, Skip> {
        var content: [UInt8]?
        switch (file.contentBase64, file.url) {
        case (let inline?, nil):
            guard Base64.encodedLength(Limits.inlineFileMaxBytes) >= inline.utf8.count - 2 else { return .failure(Skip(SkipReason.inlineTooLarge)) }
            guard let bytes = Base64.decode(inline) else { return .failure(Skip(SkipReason.invalidBase64)) }
            guard bytes.count <= Limits.inlineFileMaxBytes else { return .failure(Skip(SkipReason.inlineTooLarge)) }
            content = bytes
        case (nil, let url?):
            guard URLFetcher.isFetchable(url) else { return .failure(Skip(SkipReason.urlScheme)) }
        default:
            return .failure(Skip(SkipReason.oneSource))
        }
        let location: Workspace.Location
        do throws(Workspace.ResolveError) {
            location = try workspace.locate(
                file.path, followFinalSymlink: false, createDirectories: true, owner: owner.map { ($0.uid, $0.gid) })
        } catch {
            return .failure(Skip(error.reason))
        }
        defer { Syscall.close(location.directory) }
        guard let name = location.name else { return .failure(Skip(SkipReason.emptyPath)) }
        if Syscall.isSubdirectory(name, in: location.directory) { return .failure(Skip(SkipReason.isDirectory)) }
        // Short and fixed-length, whatever the name: `name` may already be 255 bytes.
        let temp = ".runnerd-stage-\(String(UInt64.random(in: 0...UInt64.max), radix: 16))"
        let fd: CInt
        do {
            fd = try Syscall.openat(location.directory, temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o644)
        } catch {
            return .failure(Skip("cannot create the file: \(error)"))
        }
        var keep = false
        defer {
            Syscall.close(fd)
            if !keep { Syscall.unlink(at: location.directory, temp) }
        }
        if let content {
            do {
                try Syscall.writeAll(fd, content)
            } catch {
                return .failure(Skip("write failed: \(error)"))
            }
        } else if let url = file.url {
            if let owner { Syscall.give(fd, to: owner.uid, owner.gid) }  // curl runs as the agent
            if let reason = fetcher.fetch(url, into: fd) { return .failure(Skip(reason)) }
        }
        let size: Int64
        do { size = Int64(try Syscall.fstat(fd).st_size) } catch { return .failure(Skip("\(error)")) }
        if size > Int64(Limits.urlFetchMaxBytes) { return .failure(Skip(SkipReason.fetchTooLarge)) }
        if let owner { Syscall.give(fd, to: owner.uid, owner.gid) }
        do {
            try Syscall.renameEntry(temp, in: location.directory, to: name, in: location.directory)
        } catch {
            return .failure(Skip("rename failed: \(error)"))
        }
        keep = true
        return .success(size)
    }

    // MARK: Delete

    public func delete(_ request: DeleteRequest, on loop: any EventLoop) -> EventLoopFuture<DeleteResponse> {
        threadPool.runIfActive(eventLoop: loop) { [self] in
            var response = DeleteResponse()
            for path in request.paths {
                if let reason = deleteOne(path) {
                    response.skipped.append(SkippedPath(path: path, reason: reason))
                } else {
                    response.deleted.append(path)
                }
            }
            return response
        }
    }

    private func deleteOne(_ path: String) -> String? {
        let location: Workspace.Location
        do throws(Workspace.ResolveError) {
            location = try workspace.locate(path, followFinalSymlink: false)
        } catch {
            return error.reason
        }
        defer { Syscall.close(location.directory) }
        guard let name = location.name else { return SkipReason.emptyPath }
        do {
            // A file, a symlink (never its target) or a whole tree, however deep.
            try DirectoryTree.remove(name, in: location.directory)
            return nil
        } catch {
            return error.errno == ENOENT ? SkipReason.notFound : "\(error)"
        }
    }

    // MARK: List and read

    public func list(_ path: String, on loop: any EventLoop) -> EventLoopFuture<Result<DirectoryListing, RunnerdError>> {
        threadPool.runIfActive(eventLoop: loop) { [self] in
            asAgent(refused: { .failure(RunnerdError(.internalError, $0)) }) { listNow(path) }
        }
    }

    private func listNow(_ path: String) -> Result<DirectoryListing, RunnerdError> {
        let fd: CInt
        do throws(Workspace.ResolveError) {
            fd = try workspace.openDirectory(path)
        } catch {
            return .failure(error.runnerdError)
        }
        defer { Syscall.close(fd) }
        let names: [String]
        do { names = try Syscall.listDirectory(fd: fd) } catch { return .failure(Workspace.ResolveError.system(error).runnerdError) }
        var entries: [DirectoryEntry] = []
        for name in names {
            guard let info = (try? Syscall.entryStatus(name, in: fd)) ?? nil else { continue }
            let type: DirectoryEntry.EntryType =
                switch info.st_mode & S_IFMT {
                case S_IFREG: .file
                case S_IFDIR: .dir
                default: .other
                }
            let mtime = Int64(info.st_mtim.tv_sec) * 1000 + Int64(info.st_mtim.tv_nsec) / 1_000_000
            entries.append(DirectoryEntry(name: name, type: type, size: Int64(info.st_size), mtimeMs: mtime))
        }
        entries.sort { $0.name < $1.name }
        return .success(DirectoryListing(entries: entries))
    }

    public func read(_ path: String, on loop: any EventLoop) -> EventLoopFuture<Result<ByteBuffer, RunnerdError>> {
        threadPool.runIfActive(eventLoop: loop) { [self] in
            asAgent(refused: { .failure(RunnerdError(.internalError, $0)) }) { readNow(path) }
        }
    }

    private func readNow(_ path: String) -> Result<ByteBuffer, RunnerdError> {
        let fd: CInt
        do throws(Workspace.ResolveError) {
            fd = try workspace.openFileForReading(path)
        } catch {
            return .failure(error.runnerdError)
        }
        defer { Syscall.close(fd) }
        let info: stat
        do { info = try Syscall.fstat(fd) } catch { return .failure(RunnerdError(.internalError, "\(error)")) }
        guard info.st_mode & S_IFMT == S_IFREG else { return .failure(.badRequest("\(path) is not a regular file")) }
        guard info.st_size <= Limits.fileReadMaxBytes else { return .failure(Self.fileTooLarge) }
        var buffer = ByteBufferAllocator().buffer(capacity: Int(info.st_size))
        while buffer.readableBytes <= Limits.fileReadMaxBytes {
            let count = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 65536) { raw in
                (try? Syscall.readSome(fd, into: raw)) ?? 0
            }
            if count == 0 { break }
        }
        guard buffer.readableBytes <= Limits.fileReadMaxBytes else { return .failure(Self.fileTooLarge) }
        return .success(buffer)
    }

    static let fileTooLarge = RunnerdError(.payloadTooLarge, "the file exceeds \(Limits.fileReadMaxBytes >> 20) MiB")
}
