import Foundation
import RunnerProtocol
import SpawnerClient
import Testing

extension DockerSuites {
    /// Each sandbox's agents are a uid of their own (`SPAWNER_AGENT_UIDS`), so per-uid kernel
    /// resources are not shared: sandbox A takes every thread `RLIMIT_NPROC` allows its uid and
    /// every inotify instance its uid may have (`fs.inotify.max_user_instances`) and holds them;
    /// sandbox B still starts processes and threads, opens inotify instances and watches files.
    /// With one uid for all (the image's 10001) B would get `EAGAIN` and `EMFILE`.
    @Suite(.timeLimit(.minutes(10))) struct SandboxIdentityTests {
        /// Starts threads until one is refused, then inotify instances until one is refused;
        /// prints what it got and holds everything until killed.
        static let exhaust = """
            import ctypes, sys, threading, time
            libc = ctypes.CDLL(None, use_errno=True)
            threading.stack_size(65536)
            hold = threading.Event()
            threads = 0
            while True:
                try:
                    threading.Thread(target=hold.wait, daemon=True).start()
                    threads += 1
                except RuntimeError:
                    break
            instances = []
            while True:
                fd = libc.inotify_init1(0)
                if fd < 0:
                    error = ctypes.get_errno()
                    break
                instances.append(fd)
            print(f"threads={threads} inotify={len(instances)} errno={error}", flush=True)
            time.sleep(3600)
            """

        /// What B runs while A holds its share: 20 threads, 8 inotify instances, a process.
        static let ordinaryWork = """
            import ctypes, subprocess, threading
            libc = ctypes.CDLL(None, use_errno=True)
            threads = [threading.Thread(target=lambda: None) for _ in range(20)]
            for thread in threads: thread.start()
            for thread in threads: thread.join()
            fds = [libc.inotify_init1(0) for _ in range(8)]
            assert all(fd >= 0 for fd in fds), (fds, ctypes.get_errno())
            print("threads ok, inotify ok,", subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip())
            """

        @Test func oneSandboxExhaustingItsUidLeavesAnotherWhole() async throws {
            let profiles = TestPaths.makeTempDir("docker-identity") + "/profiles.json"
            // More pids than RLIMIT_NPROC (4096), so that the uid's limit, not the cgroup's, is what A meets.
            try Data(#"{"default": {"pids": 8192}}"#.utf8).write(to: URL(fileURLWithPath: profiles))
            chmod(profiles, 0o644)
            try await withDockerSpawner("ident", environment: ["SPAWNER_DOCKER_PROFILES": profiles, "SPAWNER_AGENT_UIDS": "230000-230009"]) { spawner, _ in
                let client = spawner.client
                let infoA = try await client.createSandbox("ident-a")
                let infoB = try await client.createSandbox("ident-b")
                let idA = try await client.runShell("ident-a", "id", "id -u; id -g; id -un; whoami; python3 -c 'import getpass; print(getpass.getuser())'").stdoutText
                let idB = try await client.runShell("ident-b", "id", "id -u; id -g; id -un; whoami; python3 -c 'import getpass; print(getpass.getuser())'").stdoutText
                let uidA = try #require(UInt32(idA.split(separator: "\n").first ?? ""), "\(idA)")
                let uidB = try #require(UInt32(idB.split(separator: "\n").first ?? ""), "\(idB)")
                #expect(uidA != uidB)
                #expect((230_000...230_009).contains(uidA) && (230_000...230_009).contains(uidB))
                #expect(idA == "\(uidA)\n\(uidA)\nagent\nagent\nagent\n")
                #expect(idB == "\(uidB)\n\(uidB)\nagent\nagent\nagent\n")
                // The spawner and runnerd say the same.
                #expect(infoA.confinement?.agent == AgentIdentity(uid: uidA, gid: uidA, user: "agent", switched: true))
                #expect(infoB.confinement?.agent?.uid == uidB)
                #expect(infoA.confinement?.landlock?.enforced == true, "\(String(describing: infoA.confinement))")
                #expect(await DockerCLI.format("sandbox-ident-a", "{{index .Config.Labels \"spawner.agent-uid\"}}") == "\(uidA)")
                // The workspace is the agent's.
                #expect(try await client.runShell("ident-b", "owner", "stat -c %u /agent").stdoutText == "\(uidB)\n")

                // A takes all its uid may have, and holds it.
                let exhausting = try await client.exec("ident-a", ExecRequest(execId: "exhaust", command: ["python3", "-c", Self.exhaust], timeoutMs: 300_000))
                var report = ""
                for try await event in exhausting {
                    if case .stdout(let bytes) = event.body { report += String(decoding: bytes, as: UTF8.self) }
                    if report.contains("\n") || event.isTerminal { break }
                }
                let fields = Dictionary(uniqueKeysWithValues: report.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { pair -> (String, Int)? in
                    let parts = pair.split(separator: "=")
                    return parts.count == 2 ? (String(parts[0]), Int(parts[1]) ?? -1) : nil
                })
                #expect((fields["threads"] ?? 0) > 4000, "A met RLIMIT_NPROC (4096 tasks of its uid): \(report)")
                #expect(fields["inotify"] == 128 && fields["errno"] == Int(EMFILE), "A met the per-uid inotify limit: \(report)")
                // While A holds them, A itself can start nothing more...
                let blocked = try await client.runShell("ident-a", "blocked", "python3 -c 'import threading; threading.Thread(target=lambda: None).start()'")
                #expect(blocked.exit?.exitCode != 0, "A's uid is at its limit: \(blocked)")

                // ...and B does everything as usual.
                let work = try await client.run("ident-b", ExecRequest(execId: "work", command: ["python3", "-c", Self.ordinaryWork], timeoutMs: 60_000))
                #expect(work.stdoutText == "threads ok, inotify ok, agent\n", "\(work)")
                #expect(try await client.runShell("ident-b", "sh", "sh -c 'echo forked'").stdoutText == "forked\n")
                var watch = try await client.watch("ident-b").makeAsyncIterator()
                #expect(try await watch.next()?.t == .watching)
                _ = try await client.runShell("ident-b", "touch", "echo x > watched.txt")
                var seen: FsWatchEvent?
                while let event = try await watch.next() {
                    if event.t == .fs && event.path == "watched.txt" {
                        seen = event
                        break
                    }
                }
                #expect(seen?.type == .file)

                _ = try await client.cancel("ident-a", "exhaust")
            }
        }
    }
}
