import Glibc
import RunnerProtocol
import SpawnerCore
import SystemSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What the local backend records about a session in `record.json`: the labels, the runnerd
/// process (pid plus what tells it from a later process with the same pid) and its port.
/// Never the token.
struct LocalRecord: Codable, Equatable, Sendable {
    var labels: SessionLabels
    var runnerdPath: String
    var pid: Int32?
    /// `/proc/PID/stat` start time (clock ticks after boot) and the boot it belongs to.
    var processStartTime: UInt64?
    var bootId: String?
    var host: String?
    var port: Int?
    var startedAtMs: Int64?

    var endpoint: RunnerdEndpoint? {
        guard let host, let port else { return nil }
        return RunnerdEndpoint(host: host, port: port)
    }
}

/// The files of one local session under `SPAWNER_DATA_DIR/sessions/<id>/`.
struct LocalSessionPaths: Sendable {
    let directory: String

    init(dataDir: String, sessionId: String) {
        directory = "\(dataDir)/sessions/\(sessionId)"
    }

    var record: String { directory + "/record.json" }
    /// The runnerd token, 0600, removed once runnerd has read it.
    var token: String { directory + "/runnerd.token" }
    /// The session's workspace (`RUNNERD_WORKSPACE`).
    var workspace: String { directory + "/workspace" }
    /// runnerd's journal (`--state-dir`), outside the workspace.
    var state: String { directory + "/state" }
    /// runnerd's stdout and stderr.
    var log: String { directory + "/runnerd.log" }
    /// Where runnerd announces its port.
    var readyFile: String { directory + "/ready.json" }
}

/// Reads and writes the local backend's files.
struct LocalSessionStore: Sendable {
    let dataDir: String

    var sessionsDirectory: String { dataDir + "/sessions" }

    func paths(_ sessionId: String) -> LocalSessionPaths { LocalSessionPaths(dataDir: dataDir, sessionId: sessionId) }

    /// Creates the data directory. Directories are 0711: a sandbox whose runnerd drops to
    /// another uid must reach its workspace by path, but no one else may list sessions; the
    /// records and logs inside are 0600.
    func prepare() throws {
        if !FileManager.default.fileExists(atPath: dataDir) {
            try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o711])
        }
        if !FileManager.default.fileExists(atPath: sessionsDirectory) {
            try FileManager.default.createDirectory(atPath: sessionsDirectory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o711])
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o711], ofItemAtPath: sessionsDirectory)
    }

    /// Makes a fresh session directory with its workspace and state directories.
    func makeDirectories(_ paths: LocalSessionPaths) throws {
        try Self.removeTree(paths.directory)
        try FileManager.default.createDirectory(atPath: paths.directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o711])
        try FileManager.default.createDirectory(atPath: paths.state, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        try FileManager.default.createDirectory(atPath: paths.workspace, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
    }

    func write(_ record: LocalRecord) throws {
        try Syscall.writeFileAtomically(paths(record.labels.sessionId).record, try WireJSON.encode(record), mode: 0o600)
    }

    /// What `load` found in a session directory.
    enum Loaded {
        /// No record: a create stopped before writing one.
        case missing
        /// A record that cannot be used: unreadable, not a record, or values out of range.
        case unusable(String)
        case record(LocalRecord)
    }

    /// The session's record, checked: it decodes, names this session, and holds values a create
    /// could have stored.
    func load(_ sessionId: String) -> Loaded {
        let path = paths(sessionId).record
        let bytes: [UInt8]
        do {
            bytes = try Syscall.readFile(path, limit: 1 << 20)
        } catch where error.errno == ENOENT {
            return .missing
        } catch {
            return .unusable("cannot read it: \(error)")
        }
        let record: LocalRecord
        do {
            record = try WireJSON.decode(LocalRecord.self, from: bytes)
        } catch {
            return .unusable("it does not decode: \(error)")
        }
        if record.labels.sessionId != sessionId { return .unusable("it names session \(record.labels.sessionId)") }
        if let problem = record.labels.rangeProblem { return .unusable(problem) }
        return .record(record)
    }

    /// The session's record when it is usable.
    func read(_ sessionId: String) -> LocalRecord? {
        guard case .record(let record) = load(sessionId) else { return nil }
        return record
    }

    /// Where session directories whose record could not be used are moved at boot.
    var setAsideDirectory: String { dataDir + "/set-aside" }

    /// Moves a session's directory, workspace included, to `set-aside/<id>-<ms>`; returns the
    /// new path. Nothing is deleted: an operator may want what is in it.
    func setAside(_ sessionId: String) throws -> String {
        if !FileManager.default.fileExists(atPath: setAsideDirectory) {
            try FileManager.default.createDirectory(atPath: setAsideDirectory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        }
        let destination = "\(setAsideDirectory)/\(sessionId)-\(Syscall.nowMs())"
        try Syscall.rename(paths(sessionId).directory, destination)
        return destination
    }

    /// The ids of every session directory.
    func sessionIds() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: sessionsDirectory)) ?? []).filter(Identifier.isValidSessionID).sorted()
    }

    /// Removes a session's directory, workspace included, whatever the agent built there: of
    /// any depth (iteratively), directories it made unwritable made writable first, symlinks
    /// removed and never followed (`DirectoryTree`).
    func remove(_ sessionId: String) throws {
        try Self.removeTree(paths(sessionId).directory)
    }

    private static func removeTree(_ path: String) throws(SystemError) {
        do {
            try DirectoryTree.remove(atPath: path)
        } catch {
            guard error.errno == ENOENT else { throw error }
        }
    }
}
