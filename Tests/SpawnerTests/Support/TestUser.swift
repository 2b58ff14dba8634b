import Foundation

/// The ordinary user the spawner (and so its local runnerds) runs as when `SPAWNER_TEST_USER`
/// names one: the local backend as a laptop user has it, without root and without any
/// capability. `scripts/test` runs the spawner suite this way as well as as root.
struct TestUser: Sendable {
    let name: String
    let uid: uid_t
    let gid: gid_t

    /// The user of this test run, if any. An unknown name stops the run: a mode that silently
    /// fell back to root would prove nothing.
    static let current: TestUser? = {
        guard let name = ProcessInfo.processInfo.environment["SPAWNER_TEST_USER"], !name.isEmpty else { return nil }
        guard let user = named(name) else { fatalError("SPAWNER_TEST_USER=\(name): no such user") }
        precondition(user.uid != 0, "SPAWNER_TEST_USER must not be root")
        precondition(getuid() == 0, "SPAWNER_TEST_USER needs the tests to run as root, to start the spawner as that user")
        return user
    }()

    /// The user of that name in the password database.
    static func named(_ name: String) -> TestUser? {
        guard let entry = getpwnam(name) else { return nil }
        return TestUser(name: name, uid: entry.pointee.pw_uid, gid: entry.pointee.pw_gid)
    }

    /// Runs the rest of the command line as this user, with no capabilities.
    var execPrefix: [String] {
        ["/usr/bin/setpriv", "--reuid=\(uid)", "--regid=\(gid)", "--clear-groups", "--inh-caps=-all", "--ambient-caps=-all", "--"]
    }

    /// Gives a directory the test made to this user.
    func own(_ path: String) {
        chown(path, uid, gid)
    }

    /// The spawner binary, copied with `runnerd` and its exec shim into a world-readable
    /// directory (the build folder may sit in a private home), once per test process.
    func publicSpawner() throws -> String {
        try Self.copies.spawner()
    }

    private static let copies = PublicCopies()

    private final class PublicCopies: @unchecked Sendable {
        private let lock = NSLock()
        private var path: String?

        func spawner() throws -> String {
            lock.lock()
            defer { lock.unlock() }
            if let path { return path }
            let directory = TestPaths.makeTempDir("spawner-test-bin")
            chmod(directory, 0o755)
            // Copied by `install` in a process of its own, so that no writable descriptor of a
            // copy ever sits in this process for a forking test to inherit (ETXTBSY at exec).
            let install = Process()
            install.executableURL = URL(fileURLWithPath: "/usr/bin/install")
            install.arguments = ["-m", "0755"] + ["spawner", "runnerd", "runnerd-exec-shim"].map { TestPaths.binDir + "/" + $0 } + [directory]
            try install.run()
            install.waitUntilExit()
            guard install.terminationStatus == 0 else { throw CocoaError(.fileWriteUnknown) }
            path = directory + "/spawner"
            return path!
        }
    }
}
