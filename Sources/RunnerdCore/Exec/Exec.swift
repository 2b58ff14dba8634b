import Glibc
import NIOCore
import NIOPosix
import RunnerProtocol
import SystemSupport

/// One running exec: its process group, pipes (or terminal), stdin, caps, deadline, termination
/// and event log. `ExecLauncher` starts its process; once it ended, runnerd keeps a
/// `FinishedExec` of it.
///
/// Confined to runnerd's event loop; the only cross-thread entries are the reaper's exit status
/// and the shim's report, which hop onto the loop. The exec ends (`exit` event) once the
/// process has been reaped and both output pipes are at EOF — or, when a background process
/// keeps a pipe open, a short drain grace after the reap.
public final class Exec {
    public enum State: Equatable { case running, exited }

    public let id: String
    public let request: ExecRequest
    public let startedAtMs: Int64
    public let log: EventLog
    public private(set) var pid: pid_t = 0
    public private(set) var state: State = .running
    public private(set) var endedAtMs: Int64?
    public private(set) var exitEvent: ExecEvent.Exit?
    public private(set) var failure: ExecEvent.Fail?
    public private(set) var timedOut = false
    public private(set) var cancelled = false

    let loop: any EventLoop
    private let startedAt = NIODeadline.now()
    private let killGrace: TimeAmount
    private let drainGrace: TimeAmount
    private var stdoutCap: OutputCap
    private var stderrCap: OutputCap
    private var outputChannels: [any Channel] = []
    /// Output channels of this exec: stdout and stderr pipes, or one terminal master.
    private let outputCount: Int
    private var openOutputs: Int
    /// The terminal master of a PTY exec while its channel is open (for resizes).
    private var terminalFD: CInt?
    private var stdin: EventLoopFuture<any Channel>?
    private var stdinOpen = false
    /// A PTY exec's terminal channel, until it is attached (stdin writes wait for it).
    private var terminalReady: EventLoopPromise<any Channel>?
    /// The command was exec'd (the shim reported) and the `start` event logged.
    private var launched = false
    /// An exit reaped before the launch was confirmed.
    private var pendingExit: WaitStatus?
    private var waitStatus: WaitStatus?
    private var deadline: Scheduled<Void>?
    private var killTimer: Scheduled<Void>?
    private var drainTimer: Scheduled<Void>?
    /// Pauses the output channels while a consumer holds the exec back.
    private var pacer: ReadPacer!

    /// Called once, when the exec has logged its terminal event.
    var onFinished: ((Exec) -> Void)?
    /// Called on output (the activity clock).
    var onActivity: (() -> Void)?

    init(request: ExecRequest, loop: any EventLoop, killGrace: TimeAmount, drainGrace: TimeAmount = .milliseconds(250)) {
        self.id = request.execId
        self.request = request
        self.loop = loop
        self.startedAtMs = Syscall.nowMs()
        self.log = EventLog()
        self.killGrace = request.killGraceMs.map { .milliseconds($0) } ?? killGrace
        self.drainGrace = drainGrace
        self.stdoutCap = OutputCap(limit: request.stdoutMaxBytes)
        self.stderrCap = OutputCap(limit: request.stderrMaxBytes)
        self.outputCount = request.pty == nil ? 2 : 1
        self.openOutputs = outputCount
        pacer = ReadPacer(
            loop: loop, channels: { [unowned self] in outputChannels }, isHeldBack: { [unowned self] in log.isBackpressured(now: .now()) },
            isActive: { [unowned self] in state == .running })
        log.onConsumersChanged = { [unowned self] in self.recheckPacing() }
    }

    // MARK: Launch

    /// Starts the process (`ExecLauncher`) and wires runnerd's ends to the loop. The future
    /// completes once the command was exec'd (the `start` event is logged, output flows) or
    /// failed (nothing left open; the caller ends the exec with `failToStart`). Stdin is taken
    /// from the spawn on: a pipe holds it, a terminal's writes wait for the terminal.
    func launch(command: [String], environment: [String], cwdFD: CInt?, launcher: ExecLauncher) -> EventLoopFuture<Void> {
        loop.preconditionInEventLoop()
        let bound = NIOLoopBound(self, eventLoop: loop)
        let loop = self.loop
        let before = Syscall.bootTimeNs()
        let launched: ExecLauncher.Launched
        do {
            launched = try launcher.launch(request, command: command, environment: environment, cwdFD: cwdFD, on: loop) { status in
                // Reaped on this loop (`ChildExitWatcher`): handled in the same wakeup.
                if loop.inEventLoop {
                    bound.value.processExited(status)
                } else {
                    loop.execute { bound.value.processExited(status) }
                }
            }
        } catch {
            return loop.makeFailedFuture(error)
        }
        pid = launched.pid
        log.journal?.spawned(pid: pid, between: before...Syscall.bootTimeNs())
        let descriptors = launched.descriptors
        switch descriptors {
        case .pipes(let stdin, _, _): attachStdin(stdin)
        case .terminal: awaitTerminal()
        }
        let promise = loop.makePromise(of: Void.self)
        launched.exec.assumeIsolated().whenComplete { [self] result in
            switch result {
            case .success:
                started(descriptors)
                promise.succeed()
            case .failure(let error):
                abandon(descriptors)
                promise.fail(error)
            }
        }
        return promise.futureResult
    }

    /// The command was exec'd: the `start` event, output on the loop, the deadline.
    private func started(_ descriptors: ExecLauncher.Descriptors) {
        launched = true
        log.append(.start(.init(execId: id, startedAtMs: startedAtMs, pid: pid)))
        log.flush()
        switch descriptors {
        case .pipes(_, let stdout, let stderr):
            attachOutput(stdout, stderr: false)
            attachOutput(stderr, stderr: true)
        case .terminal(let master, let writer):
            attachTerminal(read: master, write: writer)
        }
        armDeadline()
        if let status = pendingExit {
            pendingExit = nil
            processExited(status)
        }
    }

    /// The command was not exec'd: runnerd's ends are closed (stdin with them).
    private func abandon(_ descriptors: ExecLauncher.Descriptors) {
        switch descriptors {
        case .pipes(_, let stdout, let stderr):
            Syscall.close(stdout)
            Syscall.close(stderr)
            closeStdin()
        case .terminal(let master, let writer):
            Syscall.close(master)
            Syscall.close(writer)
            stdinOpen = false
            terminalReady?.fail(ChannelError.ioOnClosedChannel)
            terminalReady = nil
        }
    }

    /// Ends an exec that could not be started with a `fail` event.
    func failToStart(_ code: ExecFailCode, _ message: String) {
        failure = .init(code: code, message: message)
        deadline?.cancel()
        killTimer?.cancel()
        ended()
        log.append(.fail(failure!), endedAtMs: endedAtMs!)
        onFinished?(self)
    }

    private func attachOutput(_ fd: CInt, stderr: Bool) {
        outputBootstrap(stderr: stderr)
            .takingOwnershipOfDescriptor(input: fd)
            .assumeIsolated()
            .whenComplete { [self] result in
                let exec = self
                switch result {
                case .success(let channel):
                    exec.outputChannels.append(channel)
                    if exec.waitStatus != nil { exec.armDrain() }
                case .failure:
                    Syscall.close(fd)
                    exec.outputClosed(stderr: stderr)
                }
            }
    }

    private func outputBootstrap(stderr: Bool) -> NIOPipeBootstrap {
        let bound = NIOLoopBound(self, eventLoop: loop)
        return NIOPipeBootstrap(group: loop)
            .channelOption(.autoRead, value: pacer.reading)
            // Reads (so output events) of at most 64 KiB: ~87 KB lines, a few to a replay ring.
            // Larger reads stream faster but a single line could crowd out the whole ring.
            .channelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 1024, initial: 16384, maximum: 65536))
            .channelOption(.maxMessagesPerRead, value: 8)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(PipeReader(exec: bound.value, isStderr: stderr))
                }
            }
    }

    /// The terminal master as one channel: reads are the exec's output, writes its input.
    private func attachTerminal(read: CInt, write: CInt) {
        terminalFD = read
        let future = outputBootstrap(stderr: false).takingOwnershipOfDescriptors(input: read, output: write)
        terminalReady?.completeWith(future)
        terminalReady = nil
        stdin = future
        future.assumeIsolated().whenComplete { [self] result in
            let exec = self
            switch result {
            case .success(let channel):
                exec.outputChannels.append(channel)
                channel.closeFuture.assumeIsolated().whenComplete { _ in exec.terminalFD = nil }
                if exec.waitStatus != nil { exec.armDrain() }
            case .failure:
                exec.terminalFD = nil
                exec.stdinOpen = false
                Syscall.close(read)
                Syscall.close(write)
                exec.outputClosed(stderr: false)
            }
        }
    }

    /// A terminal's input is open from the spawn on: writes (the request's initial bytes
    /// first) wait until the terminal is attached.
    private func awaitTerminal() {
        let ready = loop.makePromise(of: (any Channel).self)
        terminalReady = ready
        stdin = ready.futureResult
        stdinOpen = true
        if let initial = request.stdinBase64.flatMap({ Base64.decode($0) }), !initial.isEmpty {
            _ = writeStdin(initial)
        }
    }

    private func attachStdin(_ fd: CInt) {
        let mode = request.stdinMode ?? .close
        let initial = request.stdinBase64.flatMap { Base64.decode($0) } ?? []
        if mode == .close && initial.isEmpty {
            Syscall.close(fd)
            return
        }
        let future = NIOPipeBootstrap(group: loop).takingOwnershipOfDescriptor(output: fd)
        future.whenFailure { _ in Syscall.close(fd) }
        stdin = future
        stdinOpen = true
        if !initial.isEmpty { _ = writeStdin(initial) }
        if mode == .close { closeStdin() }
    }

    // MARK: Output

    func output(stderr: Bool, _ buffer: ByteBuffer) {
        onActivity?()
        let allowed = stderr ? stderrCap.admit(buffer.readableBytes) : stdoutCap.admit(buffer.readableBytes)
        guard allowed > 0 else { return }
        log.metrics?.output(stderr: stderr, bytes: allowed)
        let view = buffer.readableBytesView
        log.appendOutput(stderr: stderr, bytes: view[view.startIndex..<(view.startIndex + allowed)])
    }

    func outputBatchDone() {
        log.flush()
        pacer.batchDone()
    }

    func outputClosed(stderr: Bool) {
        openOutputs -= 1
        finishIfDone()
    }

    /// Resumes reading once no live consumer is holding the exec back.
    func recheckPacing() {
        pacer.recheck()
    }

    // MARK: Stdin

    /// Writes to stdin; the future says whether the pipe took the bytes. One write at a time
    /// (`isWritingStdin`): a child that does not read its stdin holds one write, never a queue.
    func writeStdin(_ bytes: [UInt8]) -> EventLoopFuture<StdinResponse> {
        guard stdinOpen, let stdin else { return loop.makeSucceededFuture(.init(ok: false, reason: .stdinClosed)) }
        precondition(!isWritingStdin, "a stdin write while another is pending")
        onActivity?()
        isWritingStdin = true
        let buffer = ByteBuffer(bytes: bytes)
        let written = stdin.flatMap { $0.writeAndFlush(buffer) }
            .map { StdinResponse(ok: true) }
            .recover { _ in StdinResponse(ok: false, reason: .writeFailed) }
        written.assumeIsolated().whenComplete { [self] _ in isWritingStdin = false }
        return written
    }

    /// A stdin write has not reached the pipe yet (the child is not reading).
    private(set) var isWritingStdin = false

    var acceptsStdin: Bool { stdinOpen }
    var holdsStdin: Bool { (request.stdinMode ?? .close) == .hold }

    func closeStdin() {
        guard stdinOpen, let stdin else { return }
        stdinOpen = false
        // A terminal's master is its output too: it stays open (EOF on a terminal is ^D, a byte).
        guard request.pty == nil else { return }
        _ = stdin.flatMap { $0.close() }
    }

    var isTerminal: Bool { request.pty != nil }

    public enum ControlFailure: Error, Equatable { case ended, notATerminal }

    /// Sets the terminal's window size; the kernel sends SIGWINCH to its foreground group.
    func resize(_ size: TerminalSize) -> Result<Void, ControlFailure> {
        guard request.pty != nil else { return .failure(.notATerminal) }
        guard state == .running, waitStatus == nil, let terminalFD else { return .failure(.ended) }
        do {
            try PseudoTerminal.setWindowSize(terminalFD, cols: size.cols, rows: size.rows)
            return .success(())
        } catch {
            return .failure(.ended)
        }
    }

    /// Sends `signal` to the exec's process group; false once the exec has ended.
    func signal(_ signal: CInt) -> Bool {
        guard state == .running else { return false }
        onActivity?()
        return Syscall.signalGroup(pid, signal)
    }

    // MARK: Termination

    public enum Termination { case timeout, cancel, shutdown }

    /// SIGTERM to the group, SIGKILL after the grace. False if the process already exited.
    @discardableResult
    func terminate(_ reason: Termination) -> Bool {
        guard state == .running, waitStatus == nil else { return false }
        if killTimer == nil {
            switch reason {
            case .timeout: timedOut = true
            case .cancel, .shutdown: cancelled = true
            }
            Syscall.signalGroup(pid, SIGTERM)
            let pgid = pid
            killTimer = loop.assumeIsolated().scheduleTask(in: killGrace) { Syscall.signalGroup(pgid, SIGKILL) }
        }
        return true
    }

    /// SIGKILL to the group now (shutdown after its grace).
    func kill() {
        guard state == .running else { return }
        Syscall.signalGroup(pid, SIGKILL)
    }

    /// Re-arms the sliding deadline from now (start and every attach).
    func armDeadline() {
        deadline?.cancel()
        deadline = nil
        guard state == .running, request.timeoutMs > 0 else { return }
        deadline = loop.assumeIsolated().scheduleTask(in: .milliseconds(request.timeoutMs)) { [self] in
            deadline = nil
            terminate(.timeout)
        }
    }

    // MARK: Exit

    private func processExited(_ status: WaitStatus) {
        // A shim that failed before exec'ing the command exits too: the exec already failed.
        guard state == .running else { return }
        guard launched else {
            // Before the shim's report: `started` takes it up (a failed launch drops it).
            pendingExit = status
            return
        }
        waitStatus = status
        deadline?.cancel()
        deadline = nil
        closeStdin()
        if !finishIfDone() { armDrain() }
    }

    /// After the reap, output still in the pipes is read; a pipe held open by a background
    /// process is closed after the drain grace (unless a consumer is pacing us, then wait).
    private func armDrain() {
        guard drainTimer == nil, state == .running else { return }
        drainTimer = loop.assumeIsolated().scheduleTask(in: drainGrace) { [self] in
            drainTimer = nil
            guard state == .running else { return }
            if !pacer.reading {
                armDrain()
                return
            }
            for channel in outputChannels { channel.close(promise: nil) }
            if outputChannels.count < outputCount { armDrain() }
        }
    }

    @discardableResult
    private func finishIfDone() -> Bool {
        guard state == .running, let status = waitStatus, openOutputs == 0 else { return false }
        ended()
        drainTimer?.cancel()
        pacer.stop()
        if !timedOut && !cancelled { killTimer?.cancel() }
        let exit = ExecEvent.Exit(
            exitCode: status.exitCode,
            durationMs: Int64((NIODeadline.now() - startedAt).nanoseconds / 1_000_000),
            truncated: .init(stdout: stdoutCap.truncated, stderr: stderrCap.truncated),
            timedOut: timedOut,
            cancelled: cancelled,
            signal: status.terminatingSignal.map(SignalName.name))
        exitEvent = exit
        log.append(.exit(exit), endedAtMs: endedAtMs!)
        onFinished?(self)
        return true
    }

    /// The exec has ended (`exit` or `fail` logged next): nothing is read any more.
    private func ended() {
        state = .exited
        endedAtMs = Syscall.nowMs()
        log.onConsumersChanged = nil
    }

    /// The wire status of this exec.
    public var status: ExecStatus {
        guard state == .running else { return FinishedExec(self).status }
        var status = ExecStatus(execId: id, state: .running)
        status.startedAtMs = startedAtMs
        status.pid = pid == 0 ? nil : pid
        status.lastSeq = log.lastSeq
        return status
    }
}
