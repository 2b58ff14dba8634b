import NIOCore
import NIOHTTP1
import NIOPosix
import RunnerProtocol
import SystemSupport

/// Maps requests to the supervisor: the contract's routes, JSON errors. (The token was checked
/// on the request's head, by `RunnerdHTTPHandler`.)
///
/// Loop-confined like the supervisor it drives.
final class RunnerdRouter {
    private let supervisor: ExecSupervisor
    private let version: String
    let metrics: RunnerdMetrics
    private let workspaceFiles: WorkspaceFiles
    private let processes: AgentProcesses
    private let threadPool: NIOThreadPool
    private let authenticator: Authenticator
    let watches: FsWatchHub
    /// The network policy installed at boot, if any (the agents' Landlock and identity come
    /// from the supervisor's hardening).
    private let network: Confinement.Network?
    /// What `/healthz` reports as the sandbox's confinement.
    private var confinement: Confinement {
        var confinement = supervisor.confinement
        confinement.network = network
        return confinement
    }

    init(
        supervisor: ExecSupervisor, version: String, metrics: RunnerdMetrics, files: WorkspaceFiles,
        processes: AgentProcesses = AgentProcesses(), threadPool: NIOThreadPool, authenticator: Authenticator = Authenticator(token: nil),
        network: Confinement.Network? = nil
    ) {
        self.authenticator = authenticator
        self.network = network
        self.processes = processes
        self.threadPool = threadPool
        self.watches = FsWatchHub(loop: supervisor.loop, workspace: supervisor.workspace, threadPool: threadPool, metrics: metrics)
        self.metrics = metrics
        self.workspaceFiles = files
        self.supervisor = supervisor
        self.version = version
    }

    /// Answers an admitted request (its token, if the route needs one, was valid).
    func handle(_ request: HTTPRequest, route: RunnerdRoute, responder: RunnerdHTTPHandler) {
        if route.touchesActivity { supervisor.touch() }
        switch route {
        case .readyz:
            readyz(request, responder)
        case .healthz:
            responder.respond(.ok, json: health())
        case .startExec:
            startExec(request, responder)
        case .attach(let id):
            attach(id, request, responder)
        case .cancel(let id):
            guard let killed = supervisor.cancel(id) else {
                return responder.respond(.notFound, json: CancelResponse(killed: false))
            }
            responder.respond(.ok, json: CancelResponse(killed: killed))
        case .stdin(let id):
            stdin(id, request, responder)
        case .status(let id):
            guard let status = supervisor.status(id) else {
                return responder.respond(.notFound, json: ExecStatus(execId: id, state: .gone))
            }
            responder.respond(.ok, json: status)
        case .env:
            env(request, responder)
        case .metrics:
            var buffer = ByteBuffer()
            buffer.writeBytes(metrics.render())
            responder.respond(.ok, body: buffer, contentType: "text/plain; version=0.0.4; charset=utf-8")
        case .stageFiles, .deleteFiles, .listDirectory, .readFile:
            files(route, request, responder)
        case .resize(let id):
            resize(id, request, responder)
        case .signal(let id):
            guard let signal = decodeSignal(request, responder) else { return }
            guard let signaled = supervisor.signal(id, signal.number) else {
                return responder.respond(RunnerdError.noExec(id))
            }
            responder.respond(.ok, json: SignalResponse(signaled: signaled))
        case .processes:
            listProcesses(responder)
        case .signalProcess(let raw):
            signalProcess(raw, request, responder)
        case .watch:
            watch(request, responder)
        case .methodNotAllowed:
            responder.respond(RunnerdError.methodNotAllowed)
        case .notFound:
            responder.respond(RunnerdError.notFound)
        }
    }

    /// `/readyz`, and with `?challenge=C` the proof of holding the token (contract §4).
    private func readyz(_ request: HTTPRequest, _ responder: RunnerdHTTPHandler) {
        guard let challenge = request.query["challenge"] else { return responder.respond(.ok, json: ReadyResponse()) }
        guard ReadinessChallenge.isValid(challenge) else {
            return responder.respond(RunnerdError.badRequest("challenge must be \(ReadinessChallenge.digits) hex digits"))
        }
        guard let proof = authenticator.proof(for: challenge) else {
            return responder.respond(RunnerdError.badRequest("runnerd has no token to prove (--insecure-no-auth)"))
        }
        responder.respond(.ok, json: ReadyResponse(proof: proof))
    }

    private func health() -> HealthResponse {
        HealthResponse(
            ok: true, bootedAtMs: supervisor.bootedAtMs, lastActivityAtMs: supervisor.lastActivityAtMs,
            liveExecs: supervisor.liveCount, version: version, draining: supervisor.isDraining ? true : nil,
            confinement: confinement)
    }

    /// Decodes a JSON body; answers 400 itself and returns nil when it cannot.
    private func decode<T: Decodable>(_ type: T.Type, _ request: HTTPRequest, _ responder: RunnerdHTTPHandler) -> T? {
        switch WireJSON.decodeRequest(type, from: request.bodyBytes) {
        case .success(let value): return value
        case .failure(let error):
            responder.respond(RunnerdError.badRequest(error.message))
            return nil
        }
    }

    private func startExec(_ request: HTTPRequest, _ responder: RunnerdHTTPHandler) {
        let exec: ExecRequest
        switch WireJSON.decodeRequest(ExecRequest.self, from: request.bodyBytes) {
        case .success(let value):
            exec = value
            // A number out of range is 400, before anything starts (contract §3, bounds).
            if let message = exec.pty?.rangeError {
                return responder.respond(RunnerdError.badRequest("pty: \(message)"))
            }
        case .failure(.malformed(let message)), .failure(.outOfRange(let message)):
            return responder.respond(RunnerdError.badRequest(message))
        case .failure(.invalid(let message)):
            // JSON of the wrong shape is still an exec request: it fails as an event.
            guard let stream = responder.beginEventStream() else { return }
            supervisor.reject(stream, .badRequest, message)
            return
        }
        guard let stream = responder.beginEventStream() else { return }
        supervisor.start(exec, consumer: stream)
        stream.source = supervisor.eventLog(exec.execId)
    }

    private func attach(_ id: String, _ request: HTTPRequest, _ responder: RunnerdHTTPHandler) {
        var since: UInt64 = 0
        if let raw = request.query["sinceSeq"] {
            guard let value = Bounds.sequenceNumber(raw) else {
                return responder.respond(RunnerdError.badRequest("sinceSeq must be a non-negative integer"))
            }
            since = value
        }
        guard let log = supervisor.eventLog(id) else {
            return responder.respond(RunnerdError.noExec(id))
        }
        guard let stream = responder.beginEventStream() else { return }
        stream.source = log
        _ = supervisor.attach(id, after: since, consumer: stream)
    }

    private func stdin(_ id: String, _ request: HTTPRequest, _ responder: RunnerdHTTPHandler) {
        guard let body = decode(StdinRequest.self, request, responder) else { return }
        if let b64 = body.b64, Base64.decodedLength(b64) > Limits.stdinMaxWriteBytes {
            return responder.respond(RunnerdError(.payloadTooLarge, "one stdin write carries at most 64 KiB"))
        }
        switch supervisor.stdin(id, body) {
        case .busy:
            responder.respond(RunnerdError(.stdinBusy, "an earlier write to this exec's stdin is still pending"))
        case .answer(let future):
            responder.respondLater(future.map { response -> (HTTPResponseStatus, [UInt8]) in
                (.ok, (try? WireJSON.encode(response)) ?? [])
            })
        }
    }

    // MARK: Terminals, signals, processes

    private func resize(_ id: String, _ request: HTTPRequest, _ responder: RunnerdHTTPHandler) {
        guard let size = decode(TerminalSize.self, request, responder) else { return }
        if let message = size.rangeError { return responder.respond(RunnerdError.badRequest(message)) }
        switch supervisor.resize(id, size) {
        case .resized: responder.respond(.ok, json: OKResponse())
        case .notATerminal: responder.respond(RunnerdError(.notATerminal, "exec \(id) has no terminal"))
        case .notFound: responder.respond(RunnerdError(.notFound, "no running exec \(id)"))
        }
    }

    /// Decodes `{"signal": NAME}`; answers 400 itself for a malformed body or an unknown name.
    private func decodeSignal(_ request: HTTPRequest, _ responder: RunnerdHTTPHandler) -> ContractSignal? {
        guard let body = decode(SignalRequest.self, request, responder) else { return nil }
        guard let signal = body.parsed else {
            responder.respond(RunnerdError.badRequest(SignalRequest.badSignalMessage))
            return nil
        }
        return signal
    }

    private func listProcesses(_ responder: RunnerdHTTPHandler) {
        let groups = supervisor.liveGroups
        let processes = self.processes
        let answer = threadPool.runIfActive(eventLoop: supervisor.loop) {
            (HTTPResponseStatus.ok, (try? WireJSON.encode(ProcessList(processes: processes.list(groups: groups)))) ?? [])
        }
        responder.respondLater(answer)
    }

    private func signalProcess(_ raw: String, _ request: HTTPRequest, _ responder: RunnerdHTTPHandler) {
        guard let pid = Int32(raw), pid > 0 else {
            return responder.respond(RunnerdError.badRequest("pid must be a positive integer"))
        }
        guard let signal = decodeSignal(request, responder) else { return }
        // On the loop, which reaps runnerd's children: the pid checked is the pid signalled.
        guard processes.signal(pid, signal.number) else {
            return responder.respond(RunnerdError(.notFound, "\(pid) is not an agent process"))
        }
        responder.respond(.ok, json: SignalResponse(signaled: true))
    }

    // MARK: File watch

    private func watch(_ request: HTTPRequest, _ responder: RunnerdHTTPHandler) {
        let path = request.query["path"] ?? ""
        let recursive: Bool
        switch request.query["recursive"] {
        case nil, "false", "0": recursive = false
        case "true", "1", "": recursive = true
        default: return responder.respond(RunnerdError.badRequest("recursive must be true or false"))
        }
        let watches = self.watches
        watches.arm(path, recursive: recursive).assumeIsolated().whenComplete { result in
            switch result {
            case .success(let armed):
                guard let stream = responder.beginEventStream() else {
                    Syscall.close(armed.inotify)  // the client is gone already
                    return
                }
                watches.start(armed, recursive: recursive, consumer: stream)
            case .failure(FsWatchHub.Failure.tooMany(let limit)):
                responder.respond(RunnerdError(.tooManyWatches, "at most \(limit) watches at once"))
            case .failure(FsWatchHub.Failure.path(let error)):
                responder.respond(error)
            case .failure(let error):
                responder.respond(RunnerdError(.internalError, "\(error)"))
            }
        }
    }

    private func env(_ request: HTTPRequest, _ responder: RunnerdHTTPHandler) {
        guard let patch = decode(EnvPatch.self, request, responder) else { return }
        do {
            let denied = try supervisor.envStore.apply(patch)
            responder.respond(.ok, json: EnvResponse(denied: denied))
        } catch {
            responder.respond(RunnerdError.badRequest(error.message))
        }
    }

    // MARK: Files

    private func files(_ route: RunnerdRoute, _ request: HTTPRequest, _ responder: RunnerdHTTPHandler) {
        let loop = supervisor.loop
        func json(_ value: some Encodable) -> (HTTPResponseStatus, [UInt8]) {
            (.ok, (try? WireJSON.encode(value)) ?? [])
        }
        switch route {
        case .stageFiles:
            guard let body = decode(StageRequest.self, request, responder) else { return }
            responder.respondLater(workspaceFiles.stage(body, on: loop).map(json))
        case .deleteFiles:
            guard let body = decode(DeleteRequest.self, request, responder) else { return }
            responder.respondLater(workspaceFiles.delete(body, on: loop).map(json))
        case .listDirectory:
            let answer = workspaceFiles.list(request.query["path"] ?? "", on: loop).map { result in
                switch result {
                case .success(let listing): (HTTPResponseStatus.ok, ByteBuffer(bytes: (try? WireJSON.encode(listing)) ?? []), "application/json")
                case .failure(let error): Self.answer(error)
                }
            }
            responder.respondLater(answer)
        case .readFile:
            guard let path = request.query["path"], !path.isEmpty else {
                return responder.respond(RunnerdError.badRequest("path is required"))
            }
            let answer = workspaceFiles.read(path, on: loop).map { result in
                switch result {
                case .success(let bytes): (HTTPResponseStatus.ok, bytes, "application/octet-stream")
                case .failure(let error): Self.answer(error)
                }
            }
            responder.respondLater(answer)
        default:
            responder.respond(RunnerdError.notFound)
        }
    }

    /// A failure as the answer `respondLater` writes.
    static func answer(_ error: RunnerdError) -> (HTTPResponseStatus, ByteBuffer, String) {
        (error.status, ByteBuffer(bytes: (try? WireJSON.encode(error.body)) ?? []), "application/json")
    }
}
