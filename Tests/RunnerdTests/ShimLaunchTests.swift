import Foundation
import RunnerProtocol
import RunnerdClient
import Testing
import TestSupport

/// runnerd waits for the exec shim's report (exec'd, or which stage failed) off its event loop:
/// a shim that hangs holds up its own exec, never the other streams of the sandbox.
@Suite("exec shim launch", .enabled(if: Hardening.canRun, Hardening.skipReason), .timeLimit(.minutes(3)))
struct ShimLaunchTests {
    @Test func aShimThatHangsStallsOnlyItsOwnExec() async throws {
        try Hardening.requireRoot()
        let scratch = RunnerdProcess.makeTempDir("hanging-shim")
        chmod(scratch, 0o755)
        // The shim of an exec whose command names `hold-the-shim` says it is there, then waits
        // on a FIFO the test writes to — holding the status pipe open all the while, as a shim
        // stuck before its exec would — and only then goes on as the real shim.
        let release = scratch + "/release"
        let entered = scratch + "/entered"
        #expect(mkfifo(release, 0o600) == 0)
        let wrapper = scratch + "/shim"
        try """
            #!/bin/sh
            case "$*" in *hold-the-shim*) : > \(entered); read line < \(release) ;; esac
            exec \(ProductionShim.path) "$@"

            """.write(toFile: wrapper, atomically: true, encoding: .utf8)
        chmod(wrapper, 0o755)
        let runnerd = try await RunnerdProcess.start(environment: ["RUNNERD_EXEC_SHIM": wrapper])
        let held = LiveExec(runnerd.client, ExecRequest(execId: "held", shell: "echo hold-the-shim released", timeoutMs: 60_000))
        #expect(try await eventually(timeout: .seconds(30)) { FileManager.default.fileExists(atPath: entered) }, "the held shim never started")

        // While that shim hangs, another exec starts, streams and ends.
        let other = try await runnerd.client.runShell("other", "for i in 1 2 3; do echo line $i; done")
        #expect(other.stdoutText == "line 1\nline 2\nline 3\n", "\(other.events)")
        #expect(other.exit?.exitCode == 0)
        // The held exec is still waiting for its shim: running, and no event yet.
        #expect(try await runnerd.client.status("held").state == .running)
        #expect(held.eventsSoFar.isEmpty, "\(held.eventsSoFar)")

        // Released, the shim execs the command: the held exec starts and ends as usual.
        let writer = open(release, O_WRONLY | O_NONBLOCK)
        #expect(writer >= 0, "the held shim is not reading the FIFO: errno \(errno)")
        if writer >= 0 {
            _ = write(writer, "go\n", 3)
            close(writer)
        }
        let result = try await held.result()
        #expect(result.events.first?.kind == .start, "\(result.events)")
        #expect(result.stdoutText == "hold-the-shim released\n", "\(result.events)")
        #expect(result.exit?.exitCode == 0)
        await runnerd.stop()
    }
}
