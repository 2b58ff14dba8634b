import Glibc
import NIOCore
import NIOPosix
import RunnerProtocol
import SystemSupport

/// One exec: its process group, pipes, caps, deadline and event log.
///
/// Confined to runnerd's event loop; the only cross-thread entry is the reaper's exit status,
/// which hops onto the loop. The exec ends (`exit` event) once the process has been reaped and
/// both output pipes are at EOF — or, when a background process keeps a pipe open, a short
/// drain grace after the reap.
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

    /// An exec read back from the journal after a restart: finished, its ring restored.
    init(restored: ExecJournal.Recovered, loop: any EventLoop) {
        let record = restored.record
        self.id = record.execId
        self.request = ExecRequest(execId: record.execId)
        self.loop = loop
        self.startedAtMs = record.startedAtMs
        self.log = EventLog()
        self.killGrace = .zero
        self.drainGrace = .zero
        self.stdoutCap = OutputCap(limit: 0)
        self.stderrCap = OutputCap(limit: 0)
        self.outputCount = 0
        self.openOutputs = 0
        self.pid = record.pid ?? 0
        self.state = .exited
        self.endedAtMs = record.endedAtMs
        self.exitEvent = record.exit
        self.failure = record.fail
        self.timedOut = record.exit?.timedOut ?? false
        self.cancelled = record.exit?.cancelled ?? false
        log.restore(lines: restored.lines, finished: true)
    }

    // MARK: Launch

    /// Creates the pipes (or the terminal), starts the process (through the hardening shim) and
    /// wires them to the loop.
    func launch(command: [String], environment: [String], cwdFD: CInt?, launcher: ProcessLauncher) throws(ProcessLauncher.Failure) {
        loop.preconditionInEventLoop()
        if let size = request.pty {
            return try launchOnTerminal(size, command: command, environment: environment, cwdFD: cwdFD, launcher: launcher)
        }
        var opened: [CInt] = []
        func pipe() throws(ProcessLauncher.Failure) -> (read: CInt, write: CInt) {
            do {
                let fds = try Syscall.pipe()
                opened += [fds.read, fds.write]
                return fds
            } catch {
                throw .system(error)
            }
        }
        do throws(ProcessLauncher.Failure) {
            let input = try pipe()
            let output = try pipe()
            let error = try pipe()
            Syscall.setPipeSize(output.read, 1 << 20)
            let spec = SpawnSpec(
                argv: command, environment: environment, cwdFD: cwdFD,
                stdin: input.read, stdout: output.write, stderr: error.write)
            try spawn(spec, launcher: launcher)
            for fd in [input.read, output.write, error.write] { Syscall.close(fd) }
            opened = []
            log.append(.start(.init(execId: id, startedAtMs: startedAtMs, pid: pid)))
            log.flush()
            attachStdin(input.write)
            attachOutput(output.read, stderr: false)
            attachOutput(error.read, stderr: true)
            armDeadline()
        } catch {
            for fd in opened { Syscall.close(fd) }
            throw error
        }
    }

    /// Starts the process through the launcher, its exit handled on this loop.
    private func spawn(_ spec: SpawnSpec, launcher: ProcessLauncher) throws(ProcessLauncher.Failure) {
        let bound = NIOLoopBound(self, eventLoop: loop)
        let loop = self.loop
        let before = Syscall.bootTimeNs()
        pid = try launcher.launch(spec) { status in
            // Reaped on this loop (`ChildExitWatcher`): handled in the same wakeup.
            if loop.inEventLoop {
                bound.value.processExited(status)
            } else {
                loop.execute { bound.value.processExited(status) }
            }
        }
        log.journal?.spawned(pid: pid, between: before...Syscall.bootTimeNs())
    }

    /// A PTY exec: a new terminal of `size`, its slave the process's stdio and controlling
    /// terminal, its master one channel on the loop for output and stdin.
    private func launchOnTerminal(
        _ size: TerminalSize, command: [String], environment: [String], cwdFD: CInt?, launcher: ProcessLauncher
    ) throws(ProcessLauncher.Failure) {
        let hardening = launcher.hardening
        var opened: [CInt] = []
        func failing(_ failure: ProcessLauncher.Failure) -> ProcessLauncher.Failure {
            for fd in opened { Syscall.close(fd) }
            return failure
        }
        let terminal: PseudoTerminal
        let slave: CInt
        let writer: CInt
        do throws(SystemError) {
            terminal = try PseudoTerminal.open()
            opened.append(terminal.master)
            try PseudoTerminal.setWindowSize(terminal.master, cols: size.cols, rows: size.rows)
            slave = try terminal.openSlave(owner: hardening.switchesUser ? hardening.agentUID : nil)
            opened.append(slave)
            // NIO's own dup for a two-way descriptor traps on failure: dup it here instead.
            writer = try Syscall.duplicate(terminal.master)
            opened.append(writer)
        } catch {
            throw failing(.system(error))
        }
        var spec = SpawnSpec(argv: command, environment: environment, cwdFD: cwdFD, stdin: slave, stdout: slave, stderr: slave)
        spec.controllingTerminal = terminal.slavePath
        do throws(ProcessLauncher.Failure) {
            try spawn(spec, launcher: launcher)
        } catch {
            throw failing(error)
        }
        // runnerd keeps no slave descriptor: the master reads EIO once the agent's side closes.
        Syscall.close(slave)
        log.append(.start(.init(execId: id, startedAtMs: startedAtMs, pid: pid)))
        log.flush()
        attachTerminal(read: terminal.master, write: writer)
        armDeadline()
    }

    /// Ends an exec that could not be started with a `fail` event.
    func failToStart(_ code: ExecFailCode, _ message: String) {
        failure = .init(code: code, message: message)
        state = .exited
        endedAtMs = Syscall.nowMs()
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
        stdin = future
        stdinOpen = true
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
        state = .exited
        endedAtMs = Syscall.nowMs()
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

    /// The wire status of this exec.
    public var status: ExecStatus {
        var status = ExecStatus(execId: id, state: state == .running ? .running : .exited)
        status.startedAtMs = startedAtMs
        status.pid = pid == 0 ? nil : pid
        status.lastSeq = log.lastSeq
        if state == .exited {
            status.endedAtMs = endedAtMs
            if let exitEvent {
                status.exitCode = exitEvent.exitCode
                status.timedOut = exitEvent.timedOut
                status.cancelled = exitEvent.cancelled
                status.signal = exitEvent.signal
                status.lost = exitEvent.lost
            } else if let failure {
                status.exitCode = -1
                status.failCode = failure.code
            }
        }
        return status
    }
}
