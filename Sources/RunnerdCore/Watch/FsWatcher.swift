import Glibc
import NIOCore
import NIOPosix
import RunnerProtocol
import SystemSupport

/// One `GET /fs/watch` stream: an inotify instance read on runnerd's loop, its events turned
/// into `fs` lines for one consumer.
///
/// Loop-confined. Backpressure is the exec streams': while the consumer is behind but still
/// taking bytes, the inotify descriptor is not read (the kernel queues, and says `overflow` if
/// its queue fills); a consumer that stops taking bytes no longer holds reading back and is
/// dropped once its unsent bytes pass the limit. The stream ends when the client goes away or
/// the watched directory is removed or moved.
final class FsWatcher: EventSource {
    private let loop: any EventLoop
    private let workspace: Workspace
    private let inotify: CInt
    private let consumer: any EventConsumer
    private let recursive: Bool
    private let maxWatches: Int
    private let maxUnsentBytes: Int
    private var tree = WatchTree()
    private var rootWatch: Int32?
    private var seq: UInt64 = 0
    private var channel: (any Channel)?
    private var ended = false
    /// A rename's first half, waiting for its second (same cookie, normally the next record).
    private var pendingMove: (cookie: UInt32, path: String, type: FsWatchEvent.EntryType)?
    private var moveTimer: Scheduled<Void>?
    /// Entries reported as created by a new directory's scan: the kernel may report them too.
    private var synthesized: Set<String> = []
    /// Pauses the inotify channel while the consumer holds the watch back.
    private var pacer: ReadPacer!
    /// Called once when the watch ends, whichever way.
    var onEnd: ((FsWatcher) -> Void)?
    /// Called when the consumer was dropped for falling behind.
    var onDropped: (() -> Void)?

    init(
        loop: any EventLoop, workspace: Workspace, inotify: CInt, consumer: any EventConsumer, recursive: Bool, maxWatches: Int,
        maxUnsentBytes: Int = Limits.consumerMaxUnsentBytes
    ) {
        self.loop = loop
        self.workspace = workspace
        self.inotify = inotify
        self.consumer = consumer
        self.recursive = recursive
        self.maxWatches = maxWatches
        self.maxUnsentBytes = maxUnsentBytes
        pacer = ReadPacer(
            loop: loop, channels: { [unowned self] in channel.map { [$0] } ?? [] },
            isHeldBack: { [unowned self] in self.consumer.isPacing(now: .now()) }, isActive: { [unowned self] in !ended })
    }

    // MARK: Start and end

    /// Sends `watching` for the armed tree and starts reading the inotify descriptor (owned
    /// from now on).
    func start(root: String, armed: WatchWalker.Result) {
        for (watch, path) in armed.watches { tree.add(watch, path: path) }
        rootWatch = armed.watches.first?.watch
        emit(FsWatchEvent(seq: 0, t: .watching, path: root))
        if armed.limited { emit(FsWatchEvent(seq: 0, t: .overflow, reason: "watch_limit")) }
        consumer.flush()
        let bound = NIOLoopBound(self, eventLoop: loop)
        NIOPipeBootstrap(group: loop)
            // A read must fit the largest record (header + NAME_MAX + 1), or the kernel refuses it.
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 65536))
            .channelOption(.maxMessagesPerRead, value: 4)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(InotifyReader(watcher: bound.value))
                }
            }
            .takingOwnershipOfDescriptor(input: inotify)
            .assumeIsolated()
            .whenComplete { [self] result in
                switch result {
                case .success(let channel):
                    self.channel = channel
                    if ended { channel.close(promise: nil) }
                case .failure:
                    Syscall.close(inotify)
                    end(finish: true)
                }
            }
    }

    /// The client went away (`EventSource`).
    func unsubscribe(_ consumer: any EventConsumer) {
        end(finish: false)
    }

    /// The consumer's connection drained (`EventSource`): reading may resume.
    func consumerWritable() {
        pacer.recheck()
    }

    /// Ends the stream: `finish` ends the response normally (the watched directory is gone,
    /// runnerd stops); otherwise the consumer is already gone or dropped.
    func end(finish: Bool) {
        guard !ended else { return }
        ended = true
        moveTimer?.cancel()
        pacer.stop()
        if finish { consumer.finish() }
        channel?.close(promise: nil)
        onEnd?(self)
    }

    func channelClosed() {
        end(finish: true)
    }

    // MARK: Events

    func handle(_ events: [Inotify.Event]) {
        for event in events where !ended { translate(event) }
    }

    func batchDone() {
        guard !ended else { return }
        if pendingMove != nil && moveTimer == nil {
            // The second half of a rename is normally the very next record; if the read ended
            // between the two, give the next read a moment before calling it a removal.
            moveTimer = loop.assumeIsolated().scheduleTask(in: .milliseconds(20)) { [self] in
                moveTimer = nil
                flushMove()
                consumer.flush()
            }
        }
        consumer.flush()
        pacer.batchDone()
    }

    private func translate(_ event: Inotify.Event) {
        if event.has(IN_Q_OVERFLOW) {
            flushMove()
            emit(FsWatchEvent(seq: 0, t: .overflow, reason: "queue"))
            return
        }
        if event.has(IN_IGNORED) {
            tree.remove(event.watch)
            if event.watch == rootWatch { end(finish: true) }
            return
        }
        if event.has(IN_DELETE_SELF) || event.has(IN_MOVE_SELF) {
            // A directory below is reported by its parent; the watched directory itself has
            // none here: it is gone from where it was watched.
            if event.watch == rootWatch { end(finish: true) }
            return
        }
        guard let path = tree.path(of: event.watch, event.name) else { return }
        if let pending = pendingMove, !(event.has(IN_MOVED_TO) && event.cookie == pending.cookie) { flushMove() }
        let type: FsWatchEvent.EntryType = event.isDirectory ? .dir : .file
        if event.has(IN_CREATE) {
            // Already reported by the scan of a directory that appeared with it inside.
            if synthesized.remove(path) != nil { return }
            emit(.create, path, type)
            if event.isDirectory { watchNewDirectory(path) }
        } else if event.has(IN_MODIFY) {
            emit(.write, path, type)
        } else if event.has(IN_DELETE) {
            synthesized.remove(path)
            emit(.remove, path, type)
        } else if event.has(IN_MOVED_FROM) {
            pendingMove = (event.cookie, path, type)
        } else if event.has(IN_MOVED_TO) {
            synthesized.remove(path)
            if let pending = pendingMove {
                pendingMove = nil
                moveTimer?.cancel()
                moveTimer = nil
                synthesized.remove(pending.path)
                if type == .dir { tree.move(from: pending.path, to: path) }
                emit(FsWatchEvent(seq: 0, t: .fs, path: path, op: .rename, type: type, from: pending.path))
            } else {
                // Moved in from outside the watched tree: it appears.
                emit(.create, path, type)
                if event.isDirectory { watchNewDirectory(path) }
            }
        }
    }

    /// A rename whose second half never came: the entry left the watched tree. A directory's
    /// watches go with it, so that nothing outside the tree is ever reported.
    private func flushMove() {
        guard let pending = pendingMove else { return }
        pendingMove = nil
        moveTimer?.cancel()
        moveTimer = nil
        synthesized.remove(pending.path)
        if pending.type == .dir {
            for watch in tree.subtree(pending.path) {
                Inotify.removeWatch(inotify, watch)
                tree.remove(watch)
            }
        }
        emit(.remove, pending.path, pending.type)
    }

    /// Watches a directory that appeared, and reports what it already holds as created.
    private func watchNewDirectory(_ path: String) {
        guard recursive, !ended else { return }
        guard let location = try? workspace.locate(path, followFinalSymlink: false) else { return }
        defer { Syscall.close(location.directory) }
        guard let name = location.name,
            let fd = try? Syscall.openat(location.directory, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK)
        else { return }
        defer { Syscall.close(fd) }
        let result = WatchWalker.walk(
            inotify: inotify, directory: fd, path: path, workspace: workspace, recursive: true, budget: maxWatches - tree.count,
            listEntries: true)
        for (watch, watchPath) in result.watches { tree.add(watch, path: watchPath) }
        if synthesized.count + result.entries.count > 4096 { synthesized.removeAll() }
        for (entry, type) in result.entries {
            synthesized.insert(entry)
            emit(.create, entry, type)
        }
        if result.limited { emit(FsWatchEvent(seq: 0, t: .overflow, reason: "watch_limit")) }
    }

    private func emit(_ op: FsWatchEvent.Op, _ path: String, _ type: FsWatchEvent.EntryType) {
        emit(FsWatchEvent(seq: 0, t: .fs, path: path, op: op, type: type))
    }

    private func emit(_ event: FsWatchEvent) {
        guard !ended else { return }
        var event = event
        seq += 1
        event.seq = seq
        guard let bytes = try? WireJSON.encode(event) else { return }
        var line = ByteBuffer()
        line.reserveCapacity(bytes.count + 1)
        line.writeBytes(bytes)
        line.writeInteger(UInt8(ascii: "\n"))
        consumer.deliver(line)
        if consumer.unsentBytes > maxUnsentBytes {
            // Fell too far behind: cut it off, like an exec stream's consumer.
            ended = true
            moveTimer?.cancel()
            pacer.stop()
            consumer.drop()
            channel?.close(promise: nil)
            onDropped?()
            onEnd?(self)
        }
    }
}

/// Reads an inotify descriptor on the loop and hands the decoded records to the watcher.
final class InotifyReader: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let watcher: FsWatcher

    init(watcher: FsWatcher) {
        self.watcher = watcher
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let events = unwrapInboundIn(data).withUnsafeReadableBytes { Inotify.decode($0) }
        watcher.handle(events)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        watcher.batchDone()
    }

    func channelInactive(context: ChannelHandlerContext) {
        watcher.channelClosed()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
