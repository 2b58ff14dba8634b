#if canImport(Glibc)
import Glibc
#endif

/// §2 re-adoption: after the operator's restart hook, every live session is still there and works.
enum SpawnerRestartChecks {
    /// Runs `sh -c command`; its exit status.
    static func runHook(_ command: String) async -> Int32 {
        await Task.detached {
            var pid: pid_t = 0
            let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sh"), strdup("-c"), strdup(command), nil]
            defer { for p in argv { free(p) } }
            guard posix_spawn(&pid, "/bin/sh", nil, nil, argv, environ) == 0 else { return -1 }
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        }.value
    }

    static func all(_ t: SpawnerTarget, _ options: SpawnerOptions) -> [Check] {
        [
            Check("restart.readopt", "after a restart of the spawner every live session is re-adopted: listed, ready, its execs and files intact", feature: options.restartHook == nil ? .restart : nil, timeout: .seconds(300)) {
                guard let hook = options.restartHook else { throw CheckSkip("no --restart-hook") }
                try await withSession(t, "readopt") { sid in
                    let before = try await t.exec(sid, t.request("before", shell: "printf kept > kept.txt; echo done"))
                    try before.exited(0)
                    let status = await runHook(hook)
                    try expect(status == 0, "the restart hook exited \(status)")
                    let back = try await eventually(.seconds(120), every: .milliseconds(250)) {
                        (try? await t.call("GET", "/healthz", headers: [], timeout: .seconds(5)))?.status == 200
                    }
                    try expect(back, "the spawner did not answer /healthz within 120 s of the restart")
                    let info = try await t.json("GET", "/v1/sessions/\(sid)", schema: "SessionInfo")
                    try expect(info["state"]?.string == "ready", "after the restart: \(info)")
                    let exec = try await t.call("GET", "/v1/sessions/\(sid)/execs/before")
                    let s = try t.expectJSON(exec, status: 200, schema: "runnerd:ExecStatus", "status of an exec from before the restart")
                    try expect(s["state"]?.string == "exited" && s["exitCode"]?.int == 0, "status: \(s)")
                    let replay = try await t.sse("GET", "/v1/sessions/\(sid)/execs/before/attach", extra: [("Last-Event-ID", "0")])
                    defer { replay.close() }
                    let again = try await t.events(replay)
                    try expect(again.raw == before.raw, "the replay after the restart differs: \(ExecRun.summary(again.events))")
                    let after = try await t.exec(sid, t.request("after", shell: "cat kept.txt"))
                    try after.exited(0)
                    try expect(after.stdoutText == "kept", "a file from before the restart: \(after.stdoutText.debugDescription)")
                }
            },
        ]
    }
}
