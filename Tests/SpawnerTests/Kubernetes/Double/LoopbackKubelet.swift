import AsyncHTTPClient
import Foundation
import RunnerProtocol
import Synchronization

/// The node agent of the test cluster. When a Pod appears in the API double it does what a
/// kubelet does, with processes on loopback instead of containers: waits for the Secrets and
/// claims the Pod mounts, lays out its volumes (a Secret volume as the kubelet writes one:
/// `..data` symlinks to a timestamped directory holding each key with its mode), starts the
/// container's command — runnerd, the real binary — with the Pod's env (mount paths mapped to
/// the volume directories, `0.0.0.0` to the Pod's own address 127.B.C.D), under the
/// container's capability set and no_new_privs (`setpriv`), and reports `status.podIP`,
/// `phase` and conditions as it goes. On deletion it sends SIGTERM, SIGKILL after the grace,
/// and lets the Pod go; a runnerd that ends by itself fails the Pod.
///
/// Images it cannot run, for the error paths: `unpullable/...` (ErrImagePull, then
/// ImagePullBackOff), `unschedulable/...` (never scheduled), `crashing/...` (runnerd without
/// its token file: it exits at once).
final class LoopbackKubelet: Sendable {
    let cluster: FakeCluster
    let scratch: String
    let runnerdPath: String
    private let pods = Mutex<[String: PodRecord]>([:])
    private let watcher = Mutex<Task<Void, Never>?>(nil)

    struct PodRecord: Sendable {
        var namespace: String
        var name: String
        var process: ProcessBox?
        var ip: String?
        var terminating = false
        var directory: String
        /// Where the Pod's `/agent` is on this machine.
        var workspace: String?
    }

    /// A started runnerd.
    final class ProcessBox: @unchecked Sendable {
        let process: Process
        init(_ process: Process) { self.process = process }
        var pid: Int32 { process.processIdentifier }
    }

    init(cluster: FakeCluster, scratch: String, runnerdPath: String) {
        self.cluster = cluster
        self.scratch = scratch
        self.runnerdPath = runnerdPath
    }

    func start() async {
        await cluster.setTerminator { [self] event in await terminate(event) }
        let events = await cluster.podsCreated()
        let task = Task { [self] in
            await withTaskGroup(of: Void.self) { group in
                for await event in events { group.addTask { await self.run(event) } }
            }
        }
        watcher.withLock { $0 = task }
    }

    /// Pids of runnerds still running.
    var runningPIDs: [Int32] {
        pods.withLock { pods in pods.values.compactMap { $0.process }.filter { $0.process.isRunning }.map(\.pid) }
    }

    /// The runnerd of the Pod `name`, while it runs.
    func pid(ofPod name: String) -> Int32? {
        pods.withLock { pods in pods.values.first { $0.name == name && $0.process?.process.isRunning == true }?.process?.pid }
    }

    /// The directory the Pod `name` has as its workspace.
    func workspace(ofPod name: String) -> String? {
        pods.withLock { pods in pods.values.first { $0.name == name && !$0.terminating }?.workspace }
    }

    /// What a node under memory pressure does: kills the Pod's containers and fails it with
    /// reason `Evicted` (the object stays until someone deletes it).
    func evict(pod name: String, message: String) async {
        let record = pods.withLock { pods -> (String, PodRecord)? in
            guard let (uid, record) = pods.first(where: { $0.value.name == name && !$0.value.terminating }) else { return nil }
            pods[uid]?.terminating = true
            return (uid, record)
        }
        guard let (uid, record) = record else { return }
        if let box = record.process, box.process.isRunning {
            kill(box.pid, SIGKILL)
            box.process.waitUntilExit()
        }
        await cluster.updatePodStatus(namespace: record.namespace, name: name, uid: uid) { status in
            status.set(["phase"], "Failed")
            status.set(["reason"], "Evicted")
            status.set(["message"], .string(message))
            status.set(["containerStatuses"], .array([.object([
                "name": "runnerd", "ready": .bool(false), "restartCount": .number(0),
                "state": .object(["terminated": .object(["exitCode": .number(137), "reason": "Error"])]),
            ])]))
        }
    }

    /// Stops every runnerd (test teardown).
    func shutdown() async {
        for (_, record) in pods.withLock({ $0 }) where record.process?.process.isRunning == true {
            kill(record.process!.pid, SIGKILL)
            record.process!.process.waitUntilExit()
        }
        watcher.withLock { $0?.cancel() }
    }

    // MARK: Pod start

    private func run(_ event: FakeCluster.PodEvent) async {
        let directory = scratch + "/pods/" + event.uid
        pods.withLock { $0[event.uid] = PodRecord(namespace: event.namespace, name: event.name, directory: directory) }
        guard let pod = await cluster.object("pods", namespace: event.namespace, name: event.name),
            let container = pod["spec"]?["containers"]?[0]
        else { return }
        let image = container["image"]?.string ?? ""
        if image.hasPrefix("unschedulable/") {
            await setStatus(event) { status in
                status.set(["conditions"], .array([Self.condition("PodScheduled", false, reason: "Unschedulable", message: "0/1 nodes are available: 1 Insufficient memory.")]))
            }
            return
        }
        await setStatus(event) { $0.set(["conditions"], .array([Self.condition("PodScheduled", true)])) }
        await setWaiting(event, reason: "ContainerCreating", message: nil)

        // Volumes: a kubelet keeps retrying a mount until its Secret or claim exists.
        guard await waitForVolumeSources(pod, event) else { return }
        if image.hasPrefix("unpullable/") {
            await setWaiting(event, reason: "ErrImagePull", message: "failed to pull image \"\(image)\": not found")
            try? await Task.sleep(for: .milliseconds(200))
            await setWaiting(event, reason: "ImagePullBackOff", message: "Back-off pulling image \"\(image)\"")
            return
        }
        guard container["command"]?[0]?.string == "/usr/local/bin/runnerd" else {
            await setWaiting(event, reason: "RunContainerError", message: "exec: \(container["command"]?[0]?.string ?? "none"): not found in the image")
            return
        }
        let mounts: [String: String]
        do {
            mounts = try await layOutVolumes(pod, container: container, directory: directory, event: event)
        } catch {
            await setWaiting(event, reason: "CreateContainerConfigError", message: "\(error)")
            return
        }
        pods.withLock { $0[event.uid]?.workspace = mounts["/agent"] }
        for _ in 0..<5 {
            guard !isTerminating(event.uid) else { return }
            let ip = LoopbackAddresses.allocate()
            switch await startRunnerd(pod, container: container, mounts: mounts, ip: ip, crash: image.hasPrefix("crashing/"), event: event) {
            case .listening:
                await reportRunning(event, ip: ip, port: Self.port(of: container))
                return
            case .addressTaken:
                continue
            case .exited(let exitCode):
                await reportTerminated(event, exitCode: exitCode, message: Self.tail(directory + "/runnerd.log"))
                return
            }
        }
    }

    private func waitForVolumeSources(_ pod: JSONValue, _ event: FakeCluster.PodEvent) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if isTerminating(event.uid) { return false }
            var missing: [String] = []
            for volume in pod["spec"]?["volumes"]?.array ?? [] {
                if let secret = volume["secret"]?["secretName"]?.string, await cluster.object("secrets", namespace: event.namespace, name: secret) == nil {
                    missing.append("secret \(secret)")
                }
                if let claim = volume["persistentVolumeClaim"]?["claimName"]?.string,
                    await cluster.object("persistentvolumeclaims", namespace: event.namespace, name: claim) == nil
                {
                    missing.append("persistentvolumeclaim \(claim)")
                }
            }
            if missing.isEmpty { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        await setWaiting(event, reason: "ContainerCreating", message: "MountVolume.SetUp failed: not found")
        return false
    }

    struct VolumeError: Error, CustomStringConvertible {
        let description: String
    }

    /// Makes each volume's directory; returns mount path → directory.
    private func layOutVolumes(_ pod: JSONValue, container: JSONValue, directory: String, event: FakeCluster.PodEvent) async throws -> [String: String] {
        let files = FileManager.default
        try files.createDirectory(atPath: directory + "/volumes", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o711])
        chmod(scratch, 0o711)
        chmod(scratch + "/pods", 0o711)
        chmod(directory, 0o711)
        var volumes: [String: String] = [:]
        for volume in pod["spec"]?["volumes"]?.array ?? [] {
            let name = volume["name"]?.string ?? ""
            if let claim = volume["persistentVolumeClaim"]?["claimName"]?.string {
                // A claim outlives the Pod: its directory is per claim, not per Pod.
                let path = scratch + "/claims/\(event.namespace)/\(claim)"
                try files.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
                chmod(scratch + "/claims", 0o711)
                chmod(scratch + "/claims/\(event.namespace)", 0o711)
                volumes[name] = path
            } else if volume["emptyDir"] != nil {
                let path = directory + "/volumes/" + name
                try files.createDirectory(atPath: path, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o777])
                chmod(path, 0o777)
                volumes[name] = path
            } else if let source = volume["secret"], let secretName = source["secretName"]?.string {
                guard let secret = await cluster.object("secrets", namespace: event.namespace, name: secretName) else {
                    throw VolumeError(description: "secret \(secretName) not found")
                }
                let path = directory + "/volumes/" + name
                try Self.writeSecretVolume(at: path, secret: secret, source: source)
                volumes[name] = path
            }
        }
        var mounts: [String: String] = [:]
        for mount in container["volumeMounts"]?.array ?? [] {
            guard let volume = mount["name"]?.string, let path = mount["mountPath"]?.string, let hostPath = volumes[volume] else {
                throw VolumeError(description: "volume mount \(mount["name"]?.string ?? "?") names no volume")
            }
            mounts[path] = hostPath
        }
        return mounts
    }

    /// The kubelet's atomic-writer layout: `..TIMESTAMP/<path>` files with their modes,
    /// `..data -> ..TIMESTAMP`, and `<path> -> ..data/<path>`.
    static func writeSecretVolume(at path: String, secret: JSONValue, source: JSONValue) throws {
        let files = FileManager.default
        try files.createDirectory(atPath: path, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        let stamp = "..2026_01_01_00_00_00.\(UInt32.random(in: 0...UInt32.max))"
        try files.createDirectory(atPath: path + "/" + stamp, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        let data = secret["data"]?.stringMap ?? [:]
        let defaultMode = source["defaultMode"]?.int ?? 0o644
        let items = source["items"]?.array?.map { ($0["key"]?.string ?? "", $0["path"]?.string ?? "", $0["mode"]?.int ?? defaultMode) }
            ?? data.keys.sorted().map { ($0, $0, defaultMode) }
        for (key, relative, mode) in items {
            guard let encoded = data[key], let bytes = Base64.decode(encoded) else { throw VolumeError(description: "secret has no key \(key)") }
            let file = path + "/" + stamp + "/" + relative
            guard files.createFile(atPath: file, contents: Data(bytes), attributes: [.posixPermissions: mode]) else {
                throw VolumeError(description: "cannot write \(file)")
            }
            chmod(file, mode_t(mode))
        }
        try files.createSymbolicLink(atPath: path + "/..data", withDestinationPath: stamp)
        for (_, relative, _) in items {
            try files.createSymbolicLink(atPath: path + "/" + relative, withDestinationPath: "..data/" + relative)
        }
    }

    private enum StartOutcome {
        case listening, addressTaken
        case exited(Int)
    }

    private func startRunnerd(
        _ pod: JSONValue, container: JSONValue, mounts: [String: String], ip: String, crash: Bool, event: FakeCluster.PodEvent
    ) async -> StartOutcome {
        let directory = scratch + "/pods/" + event.uid
        let readyFile = directory + "/ready-\(ip).json"
        let logPath = directory + "/runnerd.log"
        var environment = ["PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "RUNNERD_READY_FILE": readyFile]
        let mountsByLength = mounts.sorted { $0.key.count > $1.key.count }
        for variable in container["env"]?.array ?? [] {
            guard let name = variable["name"]?.string, var value = variable["value"]?.string else { continue }
            if let (mountPath, hostPath) = mountsByLength.first(where: { value == $0.key || value.hasPrefix($0.key + "/") }) {
                value = hostPath + value.dropFirst(mountPath.count)
            }
            if name == "RUNNERD_LISTEN", value.hasPrefix("0.0.0.0:") { value = ip + value.dropFirst("0.0.0.0".count) }
            environment[name] = value
        }
        if crash { environment["RUNNERD_TOKEN_FILE"] = directory + "/no-such-token" }

        // The container's capability set and no_new_privs, as a runtime applies them to a
        // root process: the bounding set is exactly `add`, nothing inheritable.
        let security = container["securityContext"]
        let added = (security?["capabilities"]?["add"]?.array ?? []).compactMap(\.string).map { "+" + $0.lowercased() }
        var argv = ["--bounding-set=" + (["-all"] + added).joined(separator: ","), "--inh-caps=-all"]
        if security?["allowPrivilegeEscalation"]?.bool == false { argv.append("--no-new-privs") }
        argv += ["--", runnerdPath] + (container["args"]?.array ?? []).compactMap(\.string)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        process.arguments = argv
        process.environment = environment
        process.currentDirectoryURL = URL(fileURLWithPath: mounts[container["workingDir"]?.string ?? "/agent"] ?? directory)
        if !FileManager.default.fileExists(atPath: logPath) { _ = FileManager.default.createFile(atPath: logPath, contents: nil) }
        let log = FileHandle(forWritingAtPath: logPath)
        log?.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        let box = ProcessBox(process)
        process.terminationHandler = { [self] finished in
            let status = finished.terminationStatus
            let signaled = finished.terminationReason == .uncaughtSignal
            Task { await self.exited(event, box: box, status: status, signaled: signaled) }
        }
        do {
            try process.run()
        } catch {
            await setWaiting(event, reason: "RunContainerError", message: "\(error)")
            return .exited(128)
        }
        pods.withLock { $0[event.uid]?.process = box }

        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if FileManager.default.fileExists(atPath: readyFile) { return .listening }
            if !process.isRunning {
                let tail = Self.tail(logPath)
                if tail.contains("in use") { return .addressTaken }
                return .exited(process.terminationReason == .uncaughtSignal ? 128 + Int(process.terminationStatus) : Int(process.terminationStatus))
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
        kill(process.processIdentifier, SIGKILL)
        return .exited(137)
    }

    private func reportRunning(_ event: FakeCluster.PodEvent, ip: String, port: Int) async {
        pods.withLock { $0[event.uid]?.ip = ip }
        let started = FakeCluster.timestamp()
        await setStatus(event) { status in
            status.set(["phase"], "Running")
            status.set(["podIP"], .string(ip))
            status.set(["podIPs"], .array([.object(["ip": .string(ip)])]))
            status.set(["hostIP"], "127.0.0.1")
            status.set(["startTime"], .string(started))
            status.set(["conditions"], .array([
                Self.condition("PodScheduled", true), Self.condition("Initialized", true), Self.condition("ContainersReady", false),
                Self.condition("Ready", false),
            ]))
            status.set(["containerStatuses"], .array([.object([
                "name": "runnerd", "ready": .bool(false), "restartCount": .number(0), "state": .object(["running": .object(["startedAt": .string(started)])]),
            ])]))
        }
        // The readiness probe: GET /readyz.
        let probe = HTTPClientRequest(url: "http://\(ip):\(port)/readyz")
        for _ in 0..<200 {
            if isTerminating(event.uid) { return }
            if let response = try? await HTTPClient.shared.execute(probe, timeout: .seconds(2)), response.status == .ok {
                await setStatus(event) { status in
                    var conditions = status["conditions"]?.array ?? []
                    for index in conditions.indices where ["Ready", "ContainersReady"].contains(conditions[index]["type"]?.string ?? "") {
                        conditions[index].set(["status"], "True")
                    }
                    status.set(["conditions"], .array(conditions))
                    var containers = status["containerStatuses"]?.array ?? []
                    if !containers.isEmpty { containers[0].set(["ready"], .bool(true)) }
                    status.set(["containerStatuses"], .array(containers))
                }
                return
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

    /// runnerd ended: by deletion (the Pod goes anyway), or by itself (the Pod fails).
    private func exited(_ event: FakeCluster.PodEvent, box: ProcessBox, status: Int32, signaled: Bool) async {
        let record = pods.withLock { $0[event.uid] }
        guard let record, record.process === box, !record.terminating, record.ip != nil else { return }
        await reportTerminated(event, exitCode: signaled ? 128 + Int(status) : Int(status), message: Self.tail(record.directory + "/runnerd.log"))
    }

    private func reportTerminated(_ event: FakeCluster.PodEvent, exitCode: Int, message: String) async {
        await setStatus(event) { podStatus in
            podStatus.set(["phase"], exitCode == 0 ? "Succeeded" : "Failed")
            var conditions = podStatus["conditions"]?.array ?? []
            for index in conditions.indices where ["Ready", "ContainersReady"].contains(conditions[index]["type"]?.string ?? "") {
                conditions[index].set(["status"], "False")
                conditions[index].set(["reason"], "PodFailed")
            }
            podStatus.set(["conditions"], .array(conditions))
            podStatus.set(["containerStatuses"], .array([.object([
                "name": "runnerd", "ready": .bool(false), "restartCount": .number(0),
                "state": .object(["terminated": .object([
                    "exitCode": .number(Double(exitCode)), "reason": .string(exitCode == 0 ? "Completed" : "Error"), "message": .string(message),
                ])]),
            ])]))
        }
    }

    // MARK: Pod deletion

    private func terminate(_ event: FakeCluster.PodEvent) async {
        let record = pods.withLock { pods -> PodRecord? in
            pods[event.uid]?.terminating = true
            return pods[event.uid]
        }
        guard let record else { return }
        if let box = record.process, box.process.isRunning {
            let pod = await cluster.object("pods", namespace: event.namespace, name: event.name)
            let grace = pod?["spec"]?["terminationGracePeriodSeconds"]?.int ?? 30
            kill(box.pid, SIGTERM)
            let deadline = ContinuousClock.now + .seconds(grace)
            while box.process.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(10)) }
            if box.process.isRunning {
                kill(box.pid, SIGKILL)
                box.process.waitUntilExit()
            }
        }
        try? FileManager.default.removeItem(atPath: record.directory)
    }

    private func isTerminating(_ uid: String) -> Bool { pods.withLock { $0[uid]?.terminating ?? true } }

    // MARK: Status

    private func setStatus(_ event: FakeCluster.PodEvent, _ change: @Sendable (inout JSONValue) -> Void) async {
        await cluster.updatePodStatus(namespace: event.namespace, name: event.name, uid: event.uid, change)
    }

    private func setWaiting(_ event: FakeCluster.PodEvent, reason: String, message: String?) async {
        await setStatus(event) { status in
            var waiting: [String: JSONValue] = ["reason": .string(reason)]
            if let message { waiting["message"] = .string(message) }
            status.set(["containerStatuses"], .array([.object([
                "name": "runnerd", "ready": .bool(false), "restartCount": .number(0), "state": .object(["waiting": .object(waiting)]),
            ])]))
        }
    }

    static func condition(_ type: String, _ value: Bool, reason: String? = nil, message: String? = nil) -> JSONValue {
        var object: [String: JSONValue] = ["type": .string(type), "status": .string(value ? "True" : "False")]
        if let reason { object["reason"] = .string(reason) }
        if let message { object["message"] = .string(message) }
        return .object(object)
    }

    static func port(of container: JSONValue) -> Int { container["ports"]?[0]?["containerPort"]?.int ?? 8200 }

    static func tail(_ path: String) -> String {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return String(text.suffix(600))
    }
}
