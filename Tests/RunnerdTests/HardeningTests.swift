import Foundation
import RunnerProtocol
import RunnerdClient
import Testing

/// Exec hardening, verified from inside the agent process. Needs root (CI runs as root).
@Suite("exec hardening", .enabled(if: getuid() == 0, "exec hardening tests need root: runnerd can only switch uid and drop the bounding set as root"))
struct HardeningTests {
    /// `/proc/self/status` of an exec, as name → value.
    static func status(_ client: RunnerdClient, _ id: String) async throws -> [String: String] {
        let result = try await client.run(id, ["cat", "/proc/self/status"])
        return ProcStatus.fields(result.stdoutText)
    }

    @Test func agentRunsUnprivilegedConfined() async throws {
        let runnerd = try await RunnerdProcess.start()
        let fields = try await Self.status(runnerd.client, "status")
        #expect(fields["NoNewPrivs"] == "1")
        #expect(fields["Seccomp"] == "2")
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

    @Test func escapesFail() async throws {
        let runnerd = try await RunnerdProcess.start()
        let client = runnerd.client
        let attempts: [(String, String)] = [
            ("userns", "unshare -U true"),
            ("netns", "unshare -n true"),
            ("mountns", "unshare -m true"),
            ("mount", "mkdir -p m && mount -t tmpfs none m"),
            ("ptrace", "strace -f -o /dev/null true"),
            ("environ", "cat /proc/1/environ"),
            ("chroot", "chroot / true"),
            ("setuid", "python3 -c 'import os; os.setuid(0)' 2>/dev/null || perl -e '$< = 0; $> = 0; exit($> == 0 ? 0 : 1)'"),
            ("keyctl", "python3 -c 'import ctypes,sys; l=ctypes.CDLL(None); sys.exit(0 if l.syscall(250, 0, 0, 0, 0, 0) >= 0 else 1)'"),
        ]
        for (name, script) in attempts {
            let result = try await client.run("try-\(name)", ["sh", "-c", script])
            let exit = try #require(result.exit, "\(name): \(result.events)")
            #expect(exit.exitCode != 0, "\(name) must fail; stdout \(result.stdoutText) stderr \(String(decoding: result.stderr, as: UTF8.self))")
        }
        // Ordinary work still works: fork/exec, pipes, files.
        let normal = try await client.runShell("normal", "echo a | tr a b > f && cat f && (sleep 0.1 &) && wait")
        #expect(normal.stdoutText == "b\n")
        #expect(normal.exit?.exitCode == 0)
        await runnerd.stop()
    }

    @Test func ptraceIsDeniedWithEPERM() async throws {
        let runnerd = try await RunnerdProcess.start()
        let result = try await runnerd.client.run("ptrace", ["strace", "-o", "/dev/null", "true"])
        #expect(result.exit?.exitCode != 0)
        #expect(String(decoding: result.stderr, as: UTF8.self).contains("Operation not permitted"))
        await runnerd.stop()
    }

    @Test func rlimitsAreApplied() async throws {
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
        let runnerd = try await RunnerdProcess.start(environment: ["RUNNERD_AGENT_UID": "23456:34567"])
        let result = try await runnerd.client.run("id", ["id", "-u", "-g"].count == 3 ? ["sh", "-c", "id -u; id -g"] : [])
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
        let denied = try await runnerd.client.run("unshare", ["unshare", "-U", "true"])
        #expect(denied.exit?.exitCode != 0)
        #expect(try await runnerd.client.runShell("write", "printf x > f.txt && cat f.txt").stdoutText == "x")
        #expect(try await runnerd.client.status("write").exitCode == 0)
        await runnerd.stop()
    }

    /// A shim that cannot export the filter: runnerd stays unfiltered and the shim attaches the
    /// filter at each exec, so agents are exactly as confined.
    @Test func withoutAnExportableFilterTheShimAttachesItPerExec() async throws {
        let scratch = RunnerdProcess.makeTempDir("shim-wrapper")
        let realShim = URL(fileURLWithPath: RunnerdProcess.binary).deletingLastPathComponent().appendingPathComponent("runnerd-exec-shim").path
        let wrapper = scratch + "/old-shim"
        try "#!/bin/sh\n[ \"$1\" = --export-seccomp-bpf ] && exit 2\nexec \(realShim) \"$@\"\n".write(toFile: wrapper, atomically: true, encoding: .utf8)
        chmod(wrapper, 0o755)
        let runnerd = try await RunnerdProcess.start(environment: ["RUNNERD_EXEC_SHIM": wrapper])
        #expect(try Self.procStatus(runnerd.pid)["Seccomp"] == "0")
        let log = try String(contentsOfFile: runnerd.stderrPath, encoding: .utf8)
        #expect(log.contains("the shim attaches it at each exec"), "\(log)")
        let fields = try await Self.status(runnerd.client, "status")
        #expect(fields["Seccomp"] == "2")
        #expect(fields["NoNewPrivs"] == "1")
        #expect(try await runnerd.client.run("unshare", ["unshare", "-U", "true"]).exit?.exitCode != 0)
        await runnerd.stop()
    }

    @Test func hardeningOffRunsAsRunnerdsOwnUser() async throws {
        let runnerd = try await RunnerdProcess.start(environment: ["RUNNERD_HARDENING": "off"])
        let fields = try await Self.status(runnerd.client, "status")
        #expect(fields["Uid"]?.hasPrefix("0") == true)
        #expect(fields["Seccomp"] == "0")
        #expect(fields["NoNewPrivs"] == "0")
        #expect(try Self.procStatus(runnerd.pid)["Seccomp"] == "0", "no filter on runnerd either")
        await runnerd.stop()
    }

    @Test func aFailedHardeningStageIsSpawnFailed() async throws {
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
