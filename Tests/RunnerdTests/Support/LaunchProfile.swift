import Foundation

/// How the runnerd under test is started: as full root on the host (the default), or with
/// exactly the privileges it has where it really runs. `RUNNERD_TEST_PROFILE` chooses;
/// `scripts/test` runs the end-to-end suite as `root` and as `container` (`WhereItRunsTests`
/// starts runnerd under `container` and `user` in every run).
///
/// - `root`: the test's own privileges (root in CI).
/// - `container`: root with Docker's default capability set and nothing else (no NET_ADMIN,
///   no SYS_ADMIN, no SYS_PTRACE...): the bounding set is cut with `setpriv` before runnerd
///   is exec'd, so its permitted and effective sets are exactly what `docker run` gives PID 1.
/// - `user`: an ordinary user (uid/gid 65534, no capabilities), as on a laptop: runnerd and
///   its shim run from a world-readable copy, and its workspace and scratch belong to that user.
enum LaunchProfile: String, Sendable {
    case root
    case container
    case user

    /// The uid and gid of the `user` profile (`nobody` on Debian).
    static let ordinaryUID: UInt32 = 65534

    /// The profile this test run uses.
    static let current: LaunchProfile = {
        let raw = ProcessInfo.processInfo.environment["RUNNERD_TEST_PROFILE"] ?? "root"
        guard let profile = LaunchProfile(rawValue: raw) else {
            fatalError("RUNNERD_TEST_PROFILE must be root, container or user, got \(raw)")
        }
        return profile
    }()

    /// Docker's default capabilities for a container (moby `oci/caps/defaults.go`), as
    /// capability names without the `CAP_` prefix.
    static let dockerDefaultCapabilities = [
        "chown", "dac_override", "fsetid", "fowner", "mknod", "net_raw", "setgid", "setuid", "setfcap", "setpcap",
        "net_bind_service", "sys_chroot", "kill", "audit_write",
    ]

    /// Capability numbers (`linux/capability.h`) of `dockerDefaultCapabilities`.
    static let dockerDefaultCapabilityNumbers: [Int] = [0, 1, 4, 3, 27, 13, 6, 7, 31, 8, 10, 18, 5, 29]

    /// The bounding/permitted/effective mask runnerd must show under this profile, as
    /// `/proc/PID/status` prints it; nil for `root` (whatever the test runs with).
    var expectedCapabilityMask: String? {
        switch self {
        case .root: nil
        case .user: "0000000000000000"
        case .container:
            String(Self.dockerDefaultCapabilityNumbers.reduce(UInt64(0)) { $0 | (1 << UInt64($1)) }, radix: 16)
                .leftPadded(to: 16)
        }
    }

    /// The command runnerd is exec'd through (after any wrapper a test asks for, such as
    /// `unshare --pid`): it replaces itself with runnerd, so runnerd keeps its pid.
    var execPrefix: [String] {
        switch self {
        case .root: []
        case .user:
            [
                "/usr/bin/setpriv", "--reuid=\(Self.ordinaryUID)", "--regid=\(Self.ordinaryUID)", "--clear-groups",
                "--inh-caps=-all", "--ambient-caps=-all", "--",
            ]
        case .container:
            [
                "/usr/bin/setpriv", "--inh-caps=-all", "--ambient-caps=-all",
                "--bounding-set=-all," + Self.dockerDefaultCapabilities.map { "+" + $0 }.joined(separator: ","), "--",
            ]
        }
    }
}

extension LaunchProfile {
    /// Makes `path` (a directory the test created) the runnerd's own under this profile.
    func adopt(_ path: String) {
        guard self == .user else { return }
        chown(path, Self.ordinaryUID, Self.ordinaryUID)
    }

    /// The runnerd binary to start: the built one, or for `user` a copy (with the exec shim)
    /// in a world-readable directory, since the build folder may sit under a private home.
    func runnerdBinary(built: String) throws -> String {
        guard self == .user else { return built }
        return try PublicBinaries.shared.copy(of: built, with: ["runnerd-exec-shim"])
    }
}

/// World-readable copies of built binaries, made once per test process.
final class PublicBinaries: @unchecked Sendable {
    static let shared = PublicBinaries()
    private let lock = NSLock()
    private var copies: [String: String] = [:]

    /// `binary` and its `siblings` copied into one fresh 0755 directory; the copy of `binary`.
    func copy(of binary: String, with siblings: [String]) throws -> String {
        lock.lock()
        defer { lock.unlock() }
        if let copy = copies[binary] { return copy }
        var template = Array("/tmp/runnerd-test-bin-XXXXXX".utf8CString)
        let directory = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
        chmod(directory, 0o755)
        let source = URL(fileURLWithPath: binary).deletingLastPathComponent()
        // Copied by `install` in a process of its own: a copy written from this process would
        // leave, for a moment, a writable descriptor that a test forking meanwhile inherits,
        // and exec'ing the copy then fails with ETXTBSY.
        let install = Process()
        install.executableURL = URL(fileURLWithPath: "/usr/bin/install")
        install.arguments = ["-m", "0755"] + ([URL(fileURLWithPath: binary).lastPathComponent] + siblings).map {
            source.appendingPathComponent($0).path
        } + [directory]
        try install.run()
        install.waitUntilExit()
        guard install.terminationStatus == 0 else { throw CocoaError(.fileWriteUnknown) }
        let copy = directory + "/" + URL(fileURLWithPath: binary).lastPathComponent
        copies[binary] = copy
        return copy
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
