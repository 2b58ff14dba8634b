import Foundation
import RunnerProtocol
import RunnerdClient
import Testing

/// Real tools under the agents' filter (inherited from runnerd, as in production): each still
/// does its ordinary work. Each step is its own exec, so a failure names the tool.
@Suite("workloads under the agents' seccomp filter", .timeLimit(.minutes(10)))
struct SeccompWorkloadTests {
    static let steps: [(name: String, script: String, expected: String)] = [
        ("bash", """
            set -euo pipefail
            declare -A seen=([a]=1)
            coproc upper { tr a-z A-Z; }
            echo "x${seen[a]}" >&"${upper[1]}"; exec {upper[1]}>&-
            read -r line <&"${upper[0]}"; wait
            diff <(printf '%s\\n' 1 2) <(seq 2) && echo "$line ok"
            """, "X1 ok\n"),
        ("python3", """
            python3 - <<'PY'
            import asyncio, hashlib, multiprocessing, socket, sqlite3, ssl, subprocess, threading
            def square(n): return n * n
            if __name__ == "__main__":
                with multiprocessing.Pool(2) as pool: assert pool.map(square, range(8)) == [n * n for n in range(8)]
                assert subprocess.run(["true"]).returncode == 0
                done = []; t = threading.Thread(target=lambda: done.append(1)); t.start(); t.join(); assert done == [1]
                db = sqlite3.connect(":memory:"); db.execute("create table t(x)"); db.execute("insert into t values (1)")
                a, b = socket.socketpair(); a.sendall(b"ping"); assert b.recv(4) == b"ping"
                async def main(): await asyncio.sleep(0.01); return 7
                assert asyncio.run(main()) == 7
                ssl.create_default_context()
                print("python ok")
            PY
            """, "python ok\n"),
        ("cc", """
            set -e
            printf '#include <pthread.h>\\n#include <stdio.h>\\nstatic void *run(void *a) { return a; }\\nint main(void) { pthread_t t; pthread_create(&t, 0, run, 0); pthread_join(t, 0); puts("compiled"); return 0; }\\n' > hello.c
            cc -O2 -pthread -o hello hello.c
            ./hello
            """, "compiled\n"),
        ("git", """
            set -e
            git init -q repo && cd repo
            echo one > file && git add file
            git -c user.name=agent -c user.email=agent@example.invalid commit -q -m first
            echo two >> file && git -c user.name=agent -c user.email=agent@example.invalid commit -q -am second
            git log --format=%s | tr '\\n' ' '; git status --porcelain | wc -l
            """, "second first 0\n"),
        ("tar", """
            set -e
            mkdir -p tree/sub && echo data > tree/sub/f && ln -s sub/f tree/link
            tar -czf tree.tgz tree && mkdir out && tar -xzf tree.tgz -C out
            diff -r tree out/tree && readlink out/tree/link
            """, "sub/f\n"),
        ("sort 100 MB", """
            set -e
            head -c 76000000 /dev/urandom | base64 -w 100 > big.txt
            test "$(stat -c %s big.txt)" -ge 100000000
            sort -o sorted.txt big.txt && sort -c sorted.txt
            test "$(wc -l < sorted.txt)" = "$(wc -l < big.txt)" && echo sorted
            rm -f big.txt sorted.txt
            """, "sorted\n"),
    ]

    @Test func realToolsWorkUnderTheFilter() async throws {
        for tool in ["bash", "python3", "cc", "git", "curl", "tar", "sort"] {
            #expect(HostCommand.which(tool) != nil, "\(tool) is not installed (scripts/test-prereqs)")
        }
        let runnerd = try await RunnerdProcess.start()
        #expect(ProcStatus.fields(pid: runnerd.pid)?["Seccomp"] == "2", "runnerd carries the filter")
        for (index, step) in Self.steps.enumerated() {
            let result = try await runnerd.client.runShell("step-\(index)", step.script, timeoutMs: 300_000)
            let stderr = String(decoding: result.stderr, as: UTF8.self)
            #expect(result.exit?.exitCode == 0, "\(step.name): exit \(String(describing: result.exit)) \(result.fail.map { "\($0)" } ?? "") stderr: \(stderr)")
            #expect(result.stdoutText == step.expected, "\(step.name): stdout \(result.stdoutText) stderr: \(stderr)")
        }
        await runnerd.stop()
    }

    @Test func curlFetchesFromALoopbackServer() async throws {
        let served = RunnerdProcess.makeTempDir("workload-served")
        chmod(served, 0o755)
        let payload = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        FileManager.default.createFile(atPath: served + "/payload.bin", contents: Data(payload))
        let server = try await LocalHTTPServer.start(directory: served)
        defer { server.stop() }
        let runnerd = try await RunnerdProcess.start()
        let result = try await runnerd.client.runShell(
            "curl", "curl -fsS -o payload.bin \(server.url("/payload.bin")) && cmp payload.bin \(served)/payload.bin && echo same")
        #expect(result.stdoutText == "same\n", "\(result.events)")
        // IPv6 loopback and name resolution go through the filter too (socket, netlink).
        let resolve = try await runnerd.client.runShell("resolve", "getent hosts localhost >/dev/null && echo resolved")
        #expect(resolve.stdoutText == "resolved\n", "\(resolve.events)")
        await runnerd.stop()
    }
}
