import Foundation
import RunnerProtocol
import RunnerdClient
import Testing

/// Exec hardening, verified from inside the agent process. Needs root (uid switch, bounding
/// set): on a developer's machine the suite is skipped without it; in CI (CI=true, run as root)
/// it runs, and fails if it is not root.
@Suite("exec hardening", .enabled(if: Hardening.canRun, Hardening.skipReason), .timeLimit(.minutes(10)))
struct HardeningTests {
    /// `/proc/self/status` of an exec, as name → value.
    static func status(_ client: RunnerdClient, _ id: String) async throws -> [String: String] {
        let result = try await client.run(id, ["cat", "/proc/self/status"])
        return ProcStatus.fields(result.stdoutText)
    }

    @Test func agentRunsUnprivilegedConfined() async throws {
        try Hardening.requireRoot()
        let runnerd = try await RunnerdProcess.start()
        let fields = try await Self.status(runnerd.client, "status")
        #expect(fields["NoNewPrivs"] == "1")
        #expect(fields["Seccomp"] == "2")
        // CapBnd is all zero: the shim drops up to the running kernel's last capability.
        for set in ["CapEff", "CapPrm", "CapBnd", "CapInh", "CapAmb"] {
            #expect(fields[set] == "0000000000000000", "\(set) = \(fields[set] ?? "nil")")
        }
        #expect(fields["Uid"]?.split(separator: "\t").allSatisfy { $0 == "10001" } == true, "Uid: \(fields["Uid"] ?? "")")
        #expect(fields["Gid"]?.split(separator: "\t").allSatisfy { $0 == "10001" } == true, "Gid: \(fields["Gid"] ?? "")")
        #expect(fields["Groups"] == "", "supplementary groups cleared")
        let home = try await runnerd.client.run("home", ["sh", "-c", "echo $HOME; touch \"$HOME/owned\" && stat -c %u \"$HOME/owned\""])
        let realWorkspace = URL(fileURLWithPath: runnerd.workspace).resolvingSymlinksInPath().path
        #expect(home.stdoutText == "\(realWorkspace)\n10001\n", "the agent writes its workspace, HOME is the workspace")
        await runnerd.stop()
    }

    /// The shim next to the runnerd under test is the production build (static, from
    /// scripts/build-shim), not a build of the tests' own.
    @Test func testsRunTheProductionShim() throws {
        try Hardening.requireRoot()
        try ProductionShim.ensure()
        #expect(try ProductionShim.isStaticExecutable(ProductionShim.path), "\(ProductionShim.path) has a program interpreter")
        #expect(try !ProductionShim.isStaticExecutable(RunnerdProcess.binary), "the ELF check can tell a dynamic executable")
    }

    /// Every syscall the filter refuses, called from inside a real exec: each answers the
    /// filter's errno (EPERM; EAFNOSUPPORT for a socket family; ENOSYS for what is on no list),
    /// and what workloads need from the argument-checked syscalls still works.
    @Test func syscallProbeInsideAnExec() async throws {
        try Hardening.requireRoot()
        let runnerd = try await RunnerdProcess.start()
        _ = try SeccompProbe.build(into: runnerd.workspace)
        let result = try await runnerd.client.run("probe", ["./seccomp-probe"])
        Self.expectProbePassed(result)
        await runnerd.stop()
    }

    static func expectProbePassed(_ result: ExecResult, sourceLocation: SourceLocation = #_sourceLocation) {
        let checks = SeccompProbe.parse(result.stdoutText)
        let failed = checks.filter { !$0.passed }
        #expect(failed.isEmpty, "\(failed.map { "\($0.name): expected \($0.expected), got \($0.got)" })", sourceLocation: sourceLocation)
        let missing = SeccompProbe.requiredRefusals.filter { name in !checks.contains { $0.name == name } }
        #expect(missing.isEmpty, "the probe does not check \(missing)", sourceLocation: sourceLocation)
        #expect(checks.count >= 90, "\(checks.count) checks: \(result.stdoutText)", sourceLocation: sourceLocation)
        #expect(result.exit?.exitCode == 0, "\(result.events)", sourceLocation: sourceLocation)
    }

    /// Real tools, each present (a missing tool is a failure, not a pass), each failing with the
    /// message of the filter's errno.
    @Test func realToolsMeetTheFilter() async throws {
        try Hardening.requireRoot()
        let runnerd = try await RunnerdProcess.start()
        let attempts: [(tool: String, argv: [String], message: String)] = [
            ("unshare", ["unshare", "--user", "true"], "Operation not permitted"),
            ("unshare", ["unshare", "--net", "true"], "Operation not permitted"),
            ("strace", ["strace", "-o", "/dev/null", "true"], "Operation not permitted"),
            ("python3", ["python3", "-c", Self.pythonUnshare], "PermissionError"),
            ("python3", ["python3", "-c", "import socket; socket.socket(40, socket.SOCK_STREAM)"], "Address family not supported"),
            ("chroot", ["chroot", "/", "true"], "Operation not permitted"),
            // Not the filter: the uid. runnerd's environment (its token) is out of reach.
            ("cat", ["cat", "/proc/\(runnerd.pid)/environ"], "Permission denied"),
        ]
        for (index, attempt) in attempts.enumerated() {
            #expect(HostCommand.which(attempt.tool) != nil, "\(attempt.tool) is not installed (scripts/test-prereqs)")
            let result = try await runnerd.client.run("tool-\(index)", attempt.argv)
            let stderr = String(decoding: result.stderr, as: UTF8.self)
            #expect(result.exit?.exitCode != 0 && result.exit?.exitCode != 127, "\(attempt.argv): \(result.events)")
            #expect(stderr.contains(attempt.message), "\(attempt.argv): stderr \(stderr)")
        }
        // Ordinary work still works: fork/exec, pipes, files, a background job.
        let normal = try await runnerd.client.runShell("normal", "echo a | tr a b > f && cat f && (sleep 0.1 &) && wait")
        #expect(normal.stdoutText == "b\n")
        #expect(normal.exit?.exitCode == 0)
        await runnerd.stop()
    }

    /// unshare(CLONE_NEWUSER) from Python (ctypes: os.unshare is Python 3.12+), raising the errno.
    static let pythonUnshare = """
        import ctypes, os
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(0x10000000) != 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code))
        """

    @Test func rlimitsAreApplied() async throws {
        try Hardening.requireRoot()
        let runnerd = try await RunnerdProcess.start(environment: [
            "RUNNERD_RLIMIT_NOFILE": "256", "RUNNERD_RLIMIT_NPROC": "300", "RUNNERD_RLIMIT_FSIZE": "1048576",
        ])
        let limits = try await runnerd.client.runShell("limits", "ulimit -c; ulimit -n; ulimit -u; ulimit -f")
        // ulimit -f counts 1024-byte blocks in bash.
        #expect(limits.stdoutText == "0\n256\n300\n1024\n")
        let big = try await runnerd.client.runShell("fsize", "head -c 2000000 /dev/zero > big; echo $?; stat -c %s big")
        #expect(big.stdoutText.hasSuffix("1048576\n"), "writes stop at RLIMIT_FSIZE: \(big.stdoutText)")
        await runnerd.stop()
    }

    @Test func agentUidIsConfigurable() async throws {
        try Hardening.requireRoot()
        let runnerd = try await RunnerdProcess.start(environment: ["RUNNERD_AGENT_UID": "23456:34567"])
        let result = try await runnerd.client.run("id", ["sh", "-c", "id -u; id -g"])
        #expect(result.stdoutText == "23456\n34567\n")
        await runnerd.stop()
        for bad in ["abc", "0", "1:2:3", "-5"] {
            await #expect(throws: RunnerdProcess.StartFailure.self, "RUNNERD_AGENT_UID=\(bad)") {
                _ = try await RunnerdProcess.start(environment: ["RUNNERD_AGENT_UID": bad])
            }
        }
    }

    /// `/proc/PID/status` of a process, as name → value.
    static func procStatus(_ pid: Int32) throws -> [String: String] {
        try #require(ProcStatus.fields(pid: pid), "no /proc/\(pid)/status")
    }

    /// runnerd carries the agents' filter itself, so agents inherit it instead of attaching
    /// one per exec; runnerd goes on working under it (spawning, files, journal).
    @Test func runnerdCarriesTheSeccompFilterItsAgentsInherit() async throws {
        try Hardening.requireRoot()
        let runnerd = try await RunnerdProcess.start()
        let own = try Self.procStatus(runnerd.pid)
        #expect(own["Seccomp"] == "2", "runnerd's own filter")
        #expect(own["NoNewPrivs"] == "1")
        let log = try String(contentsOfFile: runnerd.stderrPath, encoding: .utf8)
        #expect(log.contains("seccomp filter installed on runnerd"), "\(log)")
        // The agent: the same filter (one level: inherited, not stacked by the shim).
        let fields = try await Self.status(runnerd.client, "status")
        #expect(fields["Seccomp"] == "2")
        // Kernels from 5.9 count the filters: the agent's are runnerd's, none stacked on top.
        if let ownFilters = own["Seccomp_filters"] {
            #expect(fields["Seccomp_filters"] == ownFilters, "agent \(fields["Seccomp_filters"] ?? "?"), runnerd \(ownFilters)")
        }
        let denied = try await runnerd.client.run("unshare", ["unshare", "--user", "true"])
        #expect(String(decoding: denied.stderr, as: UTF8.self).contains("Operation not permitted"), "\(denied.events)")
        #expect(try await runnerd.client.runShell("write", "printf x > f.txt && cat f.txt").stdoutText == "x")
        #expect(try await runnerd.client.status("write").exitCode == 0)
        await runnerd.stop()
    }

    /// A shim that cannot export the filter: runnerd stays unfiltered and the shim attaches the
    /// filter at each exec, so agents are exactly as confined (the probe passes there too).
    @Test func withoutAnExportableFilterTheShimAttachesItPerExec() async throws {
        try Hardening.requireRoot()
        let scratch = RunnerdProcess.makeTempDir("shim-wrapper")
        chmod(scratch, 0o755)
        let wrapper = scratch + "/old-shim"
        try "#!/bin/sh\n[ \"$1\" = --export-seccomp-bpf ] && exit 2\nexec \(ProductionShim.path) \"$@\"\n".write(
            toFile: wrapper, atomically: true, encoding: .utf8)
        chmod(wrapper, 0o755)
        let runnerd = try await RunnerdProcess.start(environment: ["RUNNERD_EXEC_SHIM": wrapper])
        #expect(try Self.procStatus(runnerd.pid)["Seccomp"] == "0")
        let log = try String(contentsOfFile: runnerd.stderrPath, encoding: .utf8)
        #expect(log.contains("the shim attaches it at each exec"), "\(log)")
        let fields = try await Self.status(runnerd.client, "status")
        #expect(fields["Seccomp"] == "2")
        #expect(fields["NoNewPrivs"] == "1")
        _ = try SeccompProbe.build(into: runnerd.workspace)
        Self.expectProbePassed(try await runnerd.client.run("probe", ["./seccomp-probe"]))
        await runnerd.stop()
    }

    /// Without hardening nothing is filtered, and the probe says so: it can fail.
    @Test func hardeningOffRunsAsRunnerdsOwnUser() async throws {
        try Hardening.requireRoot()
        let runnerd = try await RunnerdProcess.start(environment: ["RUNNERD_HARDENING": "off"])
        let fields = try await Self.status(runnerd.client, "status")
        #expect(fields["Uid"]?.hasPrefix("0") == true)
        #expect(fields["Seccomp"] == "0")
        #expect(fields["NoNewPrivs"] == "0")
        #expect(try Self.procStatus(runnerd.pid)["Seccomp"] == "0", "no filter on runnerd either")
        _ = try SeccompProbe.build(into: runnerd.workspace)
        let probe = try await runnerd.client.run("probe", ["./seccomp-probe"])
        let checks = SeccompProbe.parse(probe.stdoutText)
        #expect(probe.exit?.exitCode == 1, "\(probe.stdoutText)")
        // Calls that succeed for root without a filter: the probe reports each as a failure.
        for name in ["personality(READ_IMPLIES_EXEC)", "unshare", "clone3", "keyctl", "name_to_handle_at"] {
            #expect(checks.first { $0.name == name }?.got == "success", "\(name): \(probe.stdoutText)")
        }
        await runnerd.stop()
    }

    @Test func aFailedHardeningStageIsSpawnFailed() async throws {
        try Hardening.requireRoot()
        // A soft and hard limit above runnerd's own hard limit cannot be set (no CAP_SYS_RESOURCE
        // in the bounding set here, and none wanted): the shim reports the stage.
        let runnerd = try await RunnerdProcess.start(environment: ["RUNNERD_RLIMIT_NOFILE": "\(UInt64(1) << 40)"])
        let result = try await runnerd.client.run("stage", ["true"])
        #expect(result.fail?.code == .spawnFailed)
        #expect(result.fail?.message.contains("setrlimit") == true, "\(result.fail?.message ?? "")")
        #expect(try await runnerd.client.health().liveExecs == 0)
        await runnerd.stop()
    }
}

/// When the hardening suites run, and how they fail where they cannot.
enum Hardening {
    static let isCI = ProcessInfo.processInfo.environment["CI"] == "true"
    static let canRun = getuid() == 0 || isCI
    static let skipReason: Comment = "exec hardening tests need root: runnerd can only switch uid and drop the bounding set as root"

    struct NotRoot: Error, CustomStringConvertible {
        var description: String { "exec hardening tests need root, and CI (CI=true) runs as root: this run is not root" }
    }

    /// Throws (the test fails) unless the test runs as root.
    static func requireRoot() throws {
        guard getuid() == 0 else { throw NotRoot() }
    }
}
