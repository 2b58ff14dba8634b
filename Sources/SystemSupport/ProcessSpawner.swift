import CRunnerdShim
import Glibc

/// What to start: argv, environment, cwd (as an open directory) and the three stdio fds.
public struct SpawnSpec: Sendable {
    public var argv: [String]
    public var environment: [String]
    /// An open directory the child `fchdir`s to; nil keeps runnerd's cwd.
    public var cwdFD: CInt?
    public var stdin: CInt
    public var stdout: CInt
    public var stderr: CInt
    /// Start the child in a new session (and so its own process group).
    public var newSession: Bool
    /// More descriptors for the child: `(fd here, fd number in the child)`.
    public var extraFDs: [(CInt, CInt)] = []
    /// Close every other descriptor in the child, close-on-exec or not (a library's socket
    /// that lacks the flag would otherwise leak into it).
    public var closeOtherDescriptors = false
    /// A terminal (`/dev/pts/N`) that becomes the child's controlling terminal. The child is a
    /// session leader without one (`newSession`), so opening the terminal there (without
    /// O_NOCTTY) acquires it, before the exec shim runs and drops any privilege.
    public var controllingTerminal: String?

    public init(argv: [String], environment: [String], cwdFD: CInt?, stdin: CInt, stdout: CInt, stderr: CInt, newSession: Bool = true) {
        self.argv = argv
        self.environment = environment
        self.cwdFD = cwdFD
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.newSession = newSession
    }
}

/// `posix_spawnp` with the attributes every exec needs: its own session, default signal
/// dispositions (runnerd ignores SIGPIPE; children must not inherit that) and an empty mask
/// (runnerd blocks SIGCHLD/SIGTERM/SIGINT/SIGHUP: a signalfd and a signal thread take them).
public enum ProcessSpawner {
    static let resetSignals: [CInt] = [
        SIGPIPE, SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM, SIGTSTP, SIGTTIN, SIGTTOU, SIGXFSZ, SIGXCPU,
    ]

    public static func spawn(_ spec: SpawnSpec) throws(SystemError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }

        // dup2 onto 0/1/2 clears close-on-exec there; everything else runnerd holds is O_CLOEXEC.
        posix_spawn_file_actions_adddup2(&actions, spec.stdin, 0)
        posix_spawn_file_actions_adddup2(&actions, spec.stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, spec.stderr, 2)
        for (fd, target) in spec.extraFDs {
            posix_spawn_file_actions_adddup2(&actions, fd, target)
        }
        if let cwd = spec.cwdFD {
            cshim_posix_spawn_file_actions_addfchdir(&actions, cwd)
        }
        // After the fchdir: the open may take the cwd descriptor's number.
        let firstFree = (spec.extraFDs.map(\.1).max() ?? 2) + 1
        if let terminal = spec.controllingTerminal {
            posix_spawn_file_actions_addopen(&actions, firstFree, terminal, O_RDWR, 0)
            posix_spawn_file_actions_addclose(&actions, firstFree)
        }
        // Last: the cwd descriptor must still be open for the fchdir above.
        if spec.closeOtherDescriptors {
            cshim_posix_spawn_file_actions_addclosefrom(&actions, firstFree)
        }

        var flags = Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        if spec.newSession { flags |= cshim_posix_spawn_setsid_flag() }
        posix_spawnattr_setflags(&attributes, flags)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        // exec resets caught signals by itself; only ignored ones survive it. runnerd (NIO)
        // ignores SIGPIPE; reset that and the job-control/termination signals a parent
        // might have left ignored, without one sigaction per signal in the child.
        var reset = sigset_t()
        sigemptyset(&reset)
        for signal in Self.resetSignals { sigaddset(&reset, signal) }
        posix_spawnattr_setsigdefault(&attributes, &reset)

        let argv = CStringArray(spec.argv)
        let envp = CStringArray(spec.environment)
        var pid: pid_t = 0
        let result = posix_spawnp(&pid, spec.argv[0], &actions, &attributes, argv.pointers, envp.pointers)
        guard result == 0 else { throw SystemError("posix_spawn(\(spec.argv[0]))", errno: result) }
        return pid
    }

    /// Waits for the child `pid` to exit (blocking) and reaps it.
    public static func waitForExit(_ pid: pid_t) -> WaitStatus {
        var status: CInt = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        return WaitStatus(raw: status)
    }
}

/// A NULL-terminated `char *[]` that owns its strings for the duration of a call.
final class CStringArray {
    let pointers: [UnsafeMutablePointer<CChar>?]

    init(_ strings: [String]) {
        pointers = strings.map { strdup($0) } + [nil]
    }

    deinit {
        for pointer in pointers { free(pointer) }
    }
}
