import Foundation
import RunnerProtocol
import RunnerdClient
import Testing

@Suite("resources: zombies and descriptors")
struct ResourceTests {
    @Test func twoHundredShortExecsLeaveNoZombieAndNoLeakedFD() async throws {
        let runnerd = try await RunnerdProcess.start()
        // The journal keeps its slot files open once used: 64 kept execs plus the slot the
        // last prune freed. Past that warm-up, no exec may leave a descriptor behind.
        for index in 0..<70 { _ = try await runnerd.client.run("warmup-\(index)", ["true"]) }
        try await Task.sleep(for: .milliseconds(200))
        let fdsBefore = runnerd.openFDCount
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

    @Test func backgroundChildrenDoNotHoldTheExecOpen() async throws {
        let runnerd = try await RunnerdProcess.start()
        let started = ContinuousClock.now
        let result = try await runnerd.client.runShell("bg", "sleep 20 & echo started")
        #expect(result.stdoutText == "started\n")
        #expect(result.exit?.exitCode == 0)
        #expect(ContinuousClock.now - started < .seconds(15), "the exec ended without waiting for its background child")
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
