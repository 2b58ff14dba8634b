import Foundation
import RunnerProtocol
import RunnerdClient
import Testing
import TestSupport

@Suite("resources: zombies and descriptors", .timeLimit(.minutes(10)))
struct ResourceTests {
    @Test func twoHundredShortExecsLeaveNoZombieAndNoLeakedFD() async throws {
        let runnerd = try await RunnerdProcess.start()
        // The journal keeps its slot files open once used: 64 kept execs plus the slot the
        // last prune freed. Past that warm-up, no exec may leave a descriptor behind.
        for index in 0..<70 { _ = try await runnerd.client.run("warmup-\(index)", ["true"]) }
        // Settled once a request round trip on runnerd's loop (where the last exec's descriptors
        // are closed) leaves the count where it was.
        var fdsBefore = runnerd.openFDCount
        #expect(try await eventually {
            _ = try await runnerd.client.health()
            let now = runnerd.openFDCount
            defer { fdsBefore = now }
            return now == fdsBefore
        })
        #expect(fdsBefore > 65)
        for index in 0..<200 {
            let result = try await runnerd.client.run("short-\(index)", index % 2 == 0 ? ["true"] : ["sh", "-c", "echo \(index); exit \(index % 3)"])
            #expect(result.exit?.exitCode == (index % 2 == 0 ? 0 : Int32(index % 3)))
        }
        #expect(try await eventually(timeout: .seconds(5)) { runnerd.zombieChildren.isEmpty }, "zombies: \(runnerd.zombieChildren)")
        #expect(try await eventually(timeout: .seconds(5)) { runnerd.openFDCount <= fdsBefore }, "fds before \(fdsBefore), after \(runnerd.openFDCount)")
        #expect(try await runnerd.client.health().liveExecs == 0)
        await runnerd.stop()
    }

    /// `sleep 600 &` keeps the exec's stdout open: the exec still ends (after the drain grace
    /// that follows its process's exit) while the sleep runs on, and the sleep, killed later,
    /// leaves no zombie.
    @Test func backgroundChildrenDoNotHoldTheExecOpen() async throws {
        let runnerd = try await RunnerdProcess.start()
        let result = try await runnerd.client.runShell("bg", "sleep 600 & echo started")
        #expect(result.stdoutText == "started\n")
        #expect(result.exit?.exitCode == 0)
        // The exec's group (its pgid is its pid) still holds the sleep: the exec did not wait for it.
        let pgid = try #require(result.start?.pid)
        let group = ProcStatus.group(pgid)
        #expect(group.count == 1, "the background sleep outlived its exec: \(group)")
        let sleepPid = try #require(group.first)
        #expect(ProcStatus.command(sleepPid) == "sleep", "\(ProcStatus.command(sleepPid) ?? "?")")
        #expect(try await runnerd.client.status("bg").state == .exited)
        #expect(try await runnerd.client.health().liveExecs == 0)
        // Once it dies, nothing is left of it (runnerd reaps what it may reap).
        kill(-pgid, SIGKILL)
        #expect(try await eventually { ProcStatus.group(pgid).isEmpty }, "left in the group: \(ProcStatus.group(pgid))")
        #expect(try await eventually { runnerd.zombieChildren.isEmpty }, "zombies: \(runnerd.zombieChildren)")
        await runnerd.stop()
    }

    @Test func execsInheritNoDescriptorOfRunnerd() async throws {
        let runnerd = try await RunnerdProcess.start()
        // Another client connection open while the exec starts: none of runnerd's sockets
        // (listener, connections), pipes or files may reach the command.
        let other = try RawConnection(port: runnerd.port)
        other.send("GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
        _ = other.readSome(timeout: 1)
        let result = try await runnerd.client.run("fds", ["ls", "-1", "/proc/self/fd"])
        // 0, 1, 2 and the directory `ls` itself opened.
        #expect(result.stdoutText.split(separator: "\n") == ["0", "1", "2", "3"], "inherited: \(result.stdoutText)")
        let sockets = try await runnerd.client.run("sockets", ["sh", "-c", "ls -l /proc/$$/fd | grep -c socket || true"])
        #expect(sockets.stdoutText == "0\n")
        await runnerd.stop()
    }
}
