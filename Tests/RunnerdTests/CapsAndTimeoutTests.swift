import Foundation
import RunnerProtocol
import RunnerdClient
import Testing
import TestSupport

@Suite("byte caps, timeouts and cancel", .timeLimit(.minutes(10)))
struct CapsAndTimeoutTests {
    @Test func tenMegabytesThroughACapOfOneMillionAndThreeGivesExactlyThat() async throws {
        let runnerd = try await RunnerdProcess.start()
        let result = try await runnerd.client.run("cap", ["sh", "-c", "head -c 10000000 /dev/urandom; echo tail >&2"]) {
            $0.stdoutMaxBytes = 1_000_003
        }
        result.checkSequence()
        #expect(result.stdout.count == 1_000_003)
        #expect(result.exit?.truncated.stdout == true)
        #expect(result.exit?.truncated.stderr == false)
        #expect(String(decoding: result.stderr, as: UTF8.self) == "tail\n")
        #expect(result.exit?.exitCode == 0, "the process was drained, not killed by the cap")
        await runnerd.stop()
    }

    @Test func capsAreExactAtTheBoundaryAndZeroIsUnlimited() async throws {
        let runnerd = try await RunnerdProcess.start()
        let exact = try await runnerd.client.run("exact", ["sh", "-c", "printf 0123456789; printf abcdef >&2"]) {
            $0.stdoutMaxBytes = 10
            $0.stderrMaxBytes = 3
        }
        #expect(exact.stdoutText == "0123456789")
        #expect(exact.exit?.truncated.stdout == false, "exactly the cap is not truncation")
        #expect(exact.stderr == Array("abc".utf8))
        #expect(exact.exit?.truncated.stderr == true)
        let unlimited = try await runnerd.client.run("unlimited", ["head", "-c", "3000000", "/dev/zero"])
        #expect(unlimited.stdout.count == 3_000_000)
        #expect(unlimited.exit?.truncated.stdout == false)
        await runnerd.stop()
    }

    @Test func timeoutSendsSigtermToTheGroup() async throws {
        let runnerd = try await RunnerdProcess.start()
        // The child of the shell must die too: it is in the same group.
        let result = try await runnerd.client.runShell("slow", "sleep 600 & wait", timeoutMs: 300)
        let pgid = try #require(result.start?.pid)
        #expect(try await eventually { ProcStatus.group(pgid).isEmpty }, "the shell's sleep survived: \(ProcStatus.group(pgid))")
        let exit = try #require(result.exit)
        #expect(exit.timedOut)
        #expect(!exit.cancelled)
        #expect(exit.signal == "SIGTERM")
        #expect(exit.exitCode == 143)
        await runnerd.stop()
    }

    @Test func sigkillFollowsAfterTheGraceWhenSigtermIsIgnored() async throws {
        let runnerd = try await RunnerdProcess.start()
        // The deadline leaves the login shell ample time to install its trap, even on a busy machine.
        let result = try await runnerd.client.runShell("stubborn", "trap '' TERM; while :; do sleep 0.05; done", timeoutMs: 1_500) {
            $0.killGraceMs = 300
        }
        let exit = try #require(result.exit)
        #expect(exit.timedOut)
        #expect(exit.signal == "SIGKILL")
        #expect(exit.exitCode == 137)
        #expect(exit.durationMs >= 1_750)
        await runnerd.stop()
    }

    @Test func attachReArmsTheSlidingDeadline() async throws {
        let runnerd = try await RunnerdProcess.start()
        let client = runnerd.client
        // 6 s of work under a 3 s deadline, kept alive by an attach every 250 ms (wide margins:
        // the suite runs in parallel with everything else on two cores).
        let exec = Task { try await client.runShell("sliding", "sleep 6; echo survived", timeoutMs: 3_000) }
        let keepAlive = Task {
            while !Task.isCancelled {
                try await Task.sleep(for: .milliseconds(250))
                // The attach itself re-arms the deadline; hang up at once.
                _ = try? await client.send(.GET, "/execs/sliding/attach?sinceSeq=1000")
            }
        }
        let result = try await exec.value
        keepAlive.cancel()
        #expect(result.exit?.timedOut == false)
        #expect(result.stdoutText == "survived\n")
        // Without attaches the same deadline fires.
        let orphan = try await client.runShell("orphaned", "sleep 6; echo survived", timeoutMs: 3_000)
        #expect(orphan.exit?.timedOut == true)
        await runnerd.stop()
    }

    @Test func cancelTerminatesAndReportsCancelled() async throws {
        let runnerd = try await RunnerdProcess.start()
        let client = runnerd.client
        let exec = Task { try await client.run("victim", ["sleep", "30"]) }
        #expect(try await eventually { try await client.status("victim").state == .running })
        #expect(try await client.cancel("victim").killed)
        let result = try await exec.value
        #expect(result.exit?.cancelled == true)
        #expect(result.exit?.timedOut == false)
        #expect(result.exit?.signal == "SIGTERM")
        #expect(try await client.cancel("victim").killed == false, "a finished exec is not killed again")
        let (code, body) = try await client.call(.POST, "/execs/unknown/cancel")
        #expect(code == 404)
        #expect(try WireJSON.decode(CancelResponse.self, from: body).killed == false)
        await runnerd.stop()
    }
}
