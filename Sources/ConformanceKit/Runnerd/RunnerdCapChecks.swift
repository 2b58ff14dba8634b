/// §1 byte caps: exactly `cap` bytes go out, the crossing chunk clipped; 0 is unlimited.
enum RunnerdCapChecks {
    /// A script writing `count` bytes of `x` to `fd` in writes of 10 (the last shorter).
    static func writes(_ count: Int, fd: Int = 1) -> String {
        "i=0; while [ $i -lt \(count / 10) ]; do printf xxxxxxxxxx >&\(fd); i=$((i+1)); done; printf '\(String(repeating: "x", count: count % 10))' >&\(fd)"
    }

    static func all(_ t: RunnerdTarget) -> [Check] {
        [
            Check("caps.clip-exact", "output past the cap is dropped, the crossing chunk clipped: exactly cap bytes, truncated true") {
                let run = try await t.run(t.request(t.id("cap-clip"), shell: writes(1505) + "; " + writes(1003, fd: 2), stdoutMax: 1000, stderrMax: 777))
                let exit = try run.exited(0)
                try expect(run.stdout.count == 1000, "stdout: \(run.stdout.count) bytes with stdoutMaxBytes 1000")
                try expect(run.stderr.count == 777, "stderr: \(run.stderr.count) bytes with stderrMaxBytes 777")
                try expect(exit["truncated"] == ["stdout": true, "stderr": true], "exit.truncated: \(exit["truncated"]?.description ?? "none")")
            },
            Check("caps.single-chunk", "one write crossing the cap is clipped to exactly cap bytes") {
                let run = try await t.run(t.request(t.id("cap-chunk"), shell: "dd if=/dev/zero bs=5000 count=1 2>/dev/null", stdoutMax: 1234))
                let exit = try run.exited(0)
                try expect(run.stdout.count == 1234, "stdout: \(run.stdout.count) bytes with stdoutMaxBytes 1234")
                try expect(exit["truncated"]?["stdout"]?.bool == true, "exit.truncated: \(exit["truncated"]?.description ?? "none")")
            },
            Check("caps.at-boundary", "output of exactly cap bytes is whole and not truncated; cap + 1 is cap bytes, truncated") {
                let exact = try await t.run(t.request(t.id("cap-exact"), shell: writes(1000), stdoutMax: 1000))
                let e1 = try exact.exited(0)
                try expect(exact.stdout.count == 1000 && e1["truncated"]?["stdout"]?.bool == false,
                           "1000 bytes under a cap of 1000: got \(exact.stdout.count), truncated \(e1["truncated"]?.description ?? "?")")
                let over = try await t.run(t.request(t.id("cap-over"), shell: writes(1001), stdoutMax: 1000))
                let e2 = try over.exited(0)
                try expect(over.stdout.count == 1000 && e2["truncated"]?["stdout"]?.bool == true,
                           "1001 bytes under a cap of 1000: got \(over.stdout.count), truncated \(e2["truncated"]?.description ?? "?")")
            },
            Check("caps.zero-unlimited", "a cap of 0 means unlimited") {
                let run = try await t.run(t.request(t.id("cap-zero"), shell: "dd if=/dev/zero bs=1000 count=300 2>/dev/null"))
                let exit = try run.exited(0)
                try expect(run.stdout.count == 300_000, "stdout: \(run.stdout.count) bytes of 300000 with stdoutMaxBytes 0")
                try expect(exit["truncated"]?["stdout"]?.bool == false, "exit.truncated: \(exit["truncated"]?.description ?? "none")")
            },
        ]
    }
}
