import Glibc
import Logging
import NIOCore
import RunnerProtocol
import SystemSupport

/// Owns every exec: admission (id, limit, cwd, draining), launch, attach, stdin, cancel,
/// retention of finished execs, and the activity clock.
///
/// Confined to runnerd's single event loop, like a NIO handler: every call happens there, so
/// the state needs no lock and the exec stream path has no hops.
public final class ExecSupervisor {
    public struct Settings: Sendable {
        public var maxLiveExecs: Int
        public var retainFinished: Int
        public var killGrace: TimeAmount
        /// `bash -lc` or `sh -c`, decided once at boot.
        public var shellPrefix: [String]
        /// runnerd's own environment minus the token variables.
        public var baseEnvironment: [String]
        public var hardening: HardeningPolicy

        public init(
            maxLiveExecs: Int, retainFinished: Int, killGrace: TimeAmount, shellPrefix: [String], baseEnvironment: [String],
            hardening: HardeningPolicy
        ) {
            self.hardening = hardening
            self.maxLiveExecs = maxLiveExecs
            self.retainFinished = retainFinished
            self.killGrace = killGrace
            self.shellPrefix = shellPrefix
            self.baseEnvironment = baseEnvironment
        }
    }

    public let loop: any EventLoop
    public let workspace: Workspace
    public let bootedAtMs = Syscall.nowMs()
    public private(set) var lastActivityAtMs = Syscall.nowMs()
    public private(set) var isDraining = false
    public var envStore: EnvStore {
        didSet { envTemplate = nil }
    }
    /// runnerd's environment overlaid by the store, rebuilt after a store change.
    private var envTemplate: EnvironmentTemplate?
    private let settings: Settings
    /// What confines the agents this supervisor starts (`/healthz`).
    var confinement: Confinement { settings.hardening.confinement }
    private let launcher: ExecLauncher
    private let logger: Logger
    private let journal: ExecJournal?
    private let metrics: RunnerdMetrics
    private var live: [String: Exec] = [:]
    private var finished: [String: FinishedExec] = [:]
    private var finishedOrder: CircularBuffer<String> = CircularBuffer()
    private var drainWaiters: [EventLoopPromise<Void>] = []

    public init(
        loop: any EventLoop, workspace: Workspace, settings: Settings, envStore: EnvStore, launcher: ProcessLauncher,
        journal: ExecJournal?, metrics: RunnerdMetrics, logger: Logger
    ) {
        self.journal = journal
        self.metrics = metrics
        self.loop = loop
        self.workspace = workspace
        self.settings = settings
        self.envStore = envStore
        self.launcher = ExecLauncher(launcher: launcher)
        self.logger = logger
    }

    public var liveCount: Int { live.count }

    public func touch() {
        lastActivityAtMs = Syscall.nowMs()
    }

    /// An exec by id: live, or finished (in memory, or read back from the journal and then kept).
    enum Entry {
        case live(Exec)
        case finished(FinishedExec)

        var log: EventLog {
            switch self {
            case .live(let exec): exec.log
            case .finished(let exec): exec.log
            }
        }

        var status: ExecStatus {
            switch self {
            case .live(let exec): exec.status
            case .finished(let exec): exec.status
            }
        }
    }

    func entry(_ id: String) -> Entry? {
        if let exec = live[id] { return .live(exec) }
        if let exec = finished[id] { return .finished(exec) }
        guard let recovered = journal?.load(id) else { return nil }
        let exec = FinishedExec(restored: recovered)
        retain(exec)
        return .finished(exec)
    }

    /// The wire status of an exec; nil for an unknown id.
    public func status(_ id: String) -> ExecStatus? {
        entry(id)?.status
    }

    /// The event log of an exec; nil for an unknown id.
    public func eventLog(_ id: String) -> EventLog? {
        entry(id)?.log
    }

    // MARK: Start

    /// Starts `request`, streaming its events to `consumer`. Rejections are a single `fail`
    /// event (seq 1) and leave no trace; a spawn failure is retained like any finished exec.
    public func start(_ request: ExecRequest, consumer: any EventConsumer) {
        loop.preconditionInEventLoop()
        touch()
        if let message = request.validationError() {
            return reject(consumer, .badRequest, message)
        }
        if isDraining {
            return reject(consumer, .shuttingDown, "runnerd is shutting down")
        }
        // An id on disk stays taken even when its file cannot be read back.
        if entry(request.execId) != nil || journal?.contains(request.execId) == true {
            return reject(consumer, .duplicateExec, "exec \(request.execId) already exists")
        }
        if live.count >= settings.maxLiveExecs {
            return reject(consumer, .execLimit, "\(settings.maxLiveExecs) execs are already running")
        }
        let cwdFD: CInt
        do {
            cwdFD = try workspace.openDirectory(request.cwd ?? "")
        } catch {
            return reject(consumer, .invalidCwd, describe(error, cwd: request.cwd ?? ""))
        }
        defer { Syscall.close(cwdFD) }

        let exec = Exec(request: request, loop: loop, killGrace: settings.killGrace)
        exec.onActivity = { [unowned self] in self.touch() }
        exec.onFinished = { [unowned self] in self.finished($0) }
        live[request.execId] = exec
        let argv = request.command ?? (settings.shellPrefix + [request.shell ?? ""])
        exec.log.journal = journal?.started(execId: exec.id, argv: argv, startedAtMs: exec.startedAtMs)
        exec.log.metrics = metrics
        // The start (or fail) event that follows within this call flushes the response head.
        exec.log.subscribe(consumer, after: 0, flush: false)
        let template = envTemplate ?? envStore.template(base: settings.baseEnvironment)
        envTemplate = template
        let environment = template.overlay(Self.requestEnvironment(request, store: envStore))
        exec.launch(command: argv, environment: environment, cwdFD: cwdFD, launcher: launcher).assumeIsolated().whenComplete { [self] result in
            switch result {
            case .success:
                metrics.execStarted()
                metrics.live(live.count)
                logger.debug("exec started", metadata: ["execId": "\(exec.id)", "pid": "\(exec.pid)"])
            case .failure(let error):
                let failure = error as? ProcessLauncher.Failure ?? .system(SystemError("launch: \(error)", errno: EIO))
                let message = failure.message(command: argv[0])
                logger.info("exec failed to start", metadata: ["execId": "\(exec.id)", "error": "\(message)"])
                metrics.execFailed(.spawnFailed)
                exec.failToStart(.spawnFailed, message)
            }
        }
    }

    /// The request's `env`; on a PTY, `TERM` is `xterm-256color` unless the request or the
    /// store names one (runnerd's own `TERM`, if any, describes runnerd's output, not this one).
    static func requestEnvironment(_ request: ExecRequest, store: EnvStore) -> [String: String]? {
        guard request.pty != nil, request.env?["TERM"] == nil, store.entries["TERM"] == nil else { return request.env }
        var env = request.env ?? [:]
        env["TERM"] = "xterm-256color"
        return env
    }

    /// Answers an exec request that is refused before anything starts: one `fail` event (seq 1).
    func reject(_ consumer: any EventConsumer, _ code: ExecFailCode, _ message: String) {
        metrics.execFailed(code)
        consumer.deliver(EventWriter.line(ExecEvent(seq: 1, .fail(.init(code: code, message: message)))))
        consumer.flush()
        consumer.finish()
    }

    private func describe(_ error: Workspace.ResolveError, cwd: String) -> String {
        "cwd \(cwd): \(error.reason)"
    }

    private func finished(_ exec: Exec) {
        live.removeValue(forKey: exec.id)
        retain(FinishedExec(exec))
        if let exit = exec.exitEvent { metrics.execExited(exit) }
        metrics.live(live.count)
        logger.debug("exec finished", metadata: ["execId": "\(exec.id)", "exitCode": "\(exec.status.exitCode ?? -1)"])
        if live.isEmpty {
            for waiter in drainWaiters { waiter.succeed() }
            drainWaiters.removeAll()
        }
    }

    private func retain(_ exec: FinishedExec) {
        finished[exec.id] = exec
        finishedOrder.append(exec.id)
        while finishedOrder.count > settings.retainFinished {
            finished.removeValue(forKey: finishedOrder.removeFirst())
        }
    }

    // MARK: Control

    /// Replays after `seq` then streams live; re-arms the deadline. False for an unknown id.
    public func attach(_ id: String, after seq: UInt64, consumer: any EventConsumer) -> Bool {
        touch()
        guard let entry = entry(id) else { return false }
        if case .live(let exec) = entry { exec.armDeadline() }
        entry.log.subscribe(consumer, after: seq)
        return true
    }

    /// nil for an unknown id.
    public func cancel(_ id: String) -> Bool? {
        touch()
        switch entry(id) {
        case .live(let exec): return exec.terminate(.cancel)
        case .finished: return false
        case nil: return nil
        }
    }

    /// What became of a `/stdin` request.
    public enum StdinOutcome {
        /// The answer, once the pipe took the bytes (or refused them).
        case answer(EventLoopFuture<StdinResponse>)
        /// An earlier write to the exec's stdin is still pending: nothing was queued (`409`).
        case busy
    }

    public func stdin(_ id: String, _ request: StdinRequest) -> StdinOutcome {
        touch()
        func answer(_ reason: StdinRejectReason) -> StdinOutcome {
            .answer(loop.makeSucceededFuture(.init(ok: false, reason: reason)))
        }
        guard let exec = live[id] else { return answer(finished[id] == nil ? .notFound : .stdinClosed) }
        guard exec.acceptsStdin else { return answer(.stdinClosed) }
        if exec.isWritingStdin { return .busy }
        var write = loop.makeSucceededFuture(StdinResponse(ok: true))
        if let b64 = request.b64 {
            guard let bytes = Base64.decode(b64) else { return answer(.badLine) }
            if !bytes.isEmpty {
                // A terminal takes raw bytes (keystrokes): no JSON-line rule.
                if exec.holdsStdin && !exec.isTerminal && !StdinLine.isCompleteJSONLine(bytes) { return answer(.badLine) }
                write = exec.writeStdin(bytes)
            }
        }
        guard request.eof == true else { return .answer(write) }
        if exec.isTerminal {
            // End of input on a terminal is its EOF character (^D), read as such by the line
            // discipline; the terminal itself stays open.
            return .answer(write.flatMap { [exec] response in response.ok ? exec.writeStdin([0x04]) : exec.loop.makeSucceededFuture(response) })
        }
        return .answer(write.map { [exec] response in
            exec.closeStdin()
            return response
        })
    }

    /// What a resize answered.
    public enum ResizeOutcome: Equatable { case resized, notFound, notATerminal }

    /// Sets a PTY exec's window size.
    public func resize(_ id: String, _ size: TerminalSize) -> ResizeOutcome {
        touch()
        guard let exec = live[id] else { return .notFound }
        switch exec.resize(size) {
        case .success: return .resized
        case .failure(.notATerminal): return .notATerminal
        case .failure(.ended): return .notFound
        }
    }

    /// Sends `signal` to an exec's process group: nil for an unknown id, false once it ended.
    public func signal(_ id: String, _ signal: CInt) -> Bool? {
        touch()
        switch entry(id) {
        case .live(let exec): return exec.signal(signal)
        case .finished: return false
        case nil: return nil
        }
    }

    /// The process group (= session) of every live exec, by pgid.
    public var liveGroups: [pid_t: String] {
        var groups: [pid_t: String] = [:]
        for exec in live.values where exec.pid > 0 { groups[exec.pid] = exec.id }
        return groups
    }

    // MARK: Shutdown

    /// Refuses new execs, SIGTERMs every group, SIGKILLs what is left after the grace and
    /// completes once no exec is live (or `grace` + 2 s have passed).
    public func drain(grace: TimeAmount) -> EventLoopFuture<Void> {
        isDraining = true
        let promise = loop.makePromise(of: Void.self)
        if live.isEmpty {
            journal?.syncToDisk()
            promise.succeed()
            return promise.futureResult
        }
        drainWaiters.append(promise)
        for exec in live.values { exec.terminate(.shutdown) }
        promise.futureResult.whenComplete { [journal] _ in journal?.syncToDisk() }
        loop.assumeIsolated().scheduleTask(in: grace) { [self] in
            for exec in live.values { exec.kill() }
        }
        loop.assumeIsolated().scheduleTask(in: grace + .seconds(2)) { [self] in
            for waiter in drainWaiters { waiter.succeed() }
            drainWaiters.removeAll()
        }
        return promise.futureResult
    }
}

/// The `hold`-mode stdin rule: one complete JSON line per write.
public enum StdinLine {
    public static func isCompleteJSONLine(_ bytes: [UInt8]) -> Bool {
        guard bytes.last == UInt8(ascii: "\n") else { return false }
        let body = bytes.dropLast()
        guard !body.contains(UInt8(ascii: "\n")) else { return false }
        return (try? WireJSON.decode(JSONValue.self, from: body)) != nil
    }
}
