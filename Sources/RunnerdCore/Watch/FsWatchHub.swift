import Glibc
import NIOCore
import NIOPosix
import RunnerProtocol
import SystemSupport

/// Starts and keeps the live `GET /fs/watch` streams, at most `maxWatchers` at once.
///
/// Loop-confined. Arming (resolving the path like the files API, walking the tree, adding the
/// watches) is blocking file-system work and runs on the thread pool; the watch itself is read
/// on the loop.
final class FsWatchHub {
    enum Failure: Error {
        case tooMany(Int)
        case path(RunnerdError)
    }

    /// What arming produced on the thread pool: the inotify descriptor, the watched directory's
    /// path relative to the workspace and the watches added.
    struct Armed: Sendable {
        let inotify: CInt
        let root: String
        let result: WatchWalker.Result
    }

    private let loop: any EventLoop
    private let workspace: Workspace
    private let threadPool: NIOThreadPool
    private let metrics: RunnerdMetrics?
    let maxWatchers: Int
    let maxWatches: Int
    private var watchers: [ObjectIdentifier: FsWatcher] = [:]
    private var arming = 0

    init(
        loop: any EventLoop, workspace: Workspace, threadPool: NIOThreadPool, metrics: RunnerdMetrics?, maxWatchers: Int = 16,
        maxWatches: Int = 8192
    ) {
        self.metrics = metrics
        self.loop = loop
        self.workspace = workspace
        self.threadPool = threadPool
        self.maxWatchers = maxWatchers
        self.maxWatches = maxWatches
    }

    var count: Int { watchers.count }

    /// Resolves `path` and arms its watches; the future fails with `Failure`.
    func arm(_ path: String, recursive: Bool) -> EventLoopFuture<Armed> {
        guard watchers.count + arming < maxWatchers else { return loop.makeFailedFuture(Failure.tooMany(maxWatchers)) }
        arming += 1
        let workspace = self.workspace
        let budget = maxWatches
        let future = threadPool.runIfActive(eventLoop: loop) { () throws -> Armed in
            let directory: CInt
            do throws(Workspace.ResolveError) {
                directory = try workspace.openDirectory(path)
            } catch {
                throw Failure.path(error.runnerdError)
            }
            defer { Syscall.close(directory) }
            guard let root = workspace.relativePath(of: directory) else { throw Failure.path(Workspace.ResolveError.escapes(path).runnerdError) }
            let inotify: CInt
            do { inotify = try Inotify.open() } catch { throw Failure.path(RunnerdError(.internalError, "\(error)")) }
            let result = WatchWalker.walk(
                inotify: inotify, directory: directory, path: root, workspace: workspace, recursive: recursive, budget: budget,
                listEntries: false)
            guard !result.watches.isEmpty else {
                Syscall.close(inotify)
                throw Failure.path(RunnerdError(.internalError, "the directory cannot be watched (inotify_add_watch failed)"))
            }
            return Armed(inotify: inotify, root: root, result: result)
        }
        future.assumeIsolated().whenComplete { [self] _ in arming -= 1 }
        return future
    }

    /// Starts streaming an armed watch to `consumer`; it is kept until it ends.
    func start(_ armed: Armed, recursive: Bool, consumer: HTTPEventStream) {
        let watcher = FsWatcher(
            loop: loop, workspace: workspace, inotify: armed.inotify, consumer: consumer, recursive: recursive, maxWatches: maxWatches)
        watchers[ObjectIdentifier(watcher)] = watcher
        watcher.onEnd = { [unowned self] in self.watchers.removeValue(forKey: ObjectIdentifier($0)) }
        watcher.onDropped = { [metrics] in metrics?.consumerDropped() }
        consumer.source = watcher
        watcher.start(root: armed.root, armed: armed.result)
    }

    /// Ends every watch (runnerd is stopping).
    func endAll() {
        for watcher in Array(watchers.values) { watcher.end(finish: true) }
    }
}
