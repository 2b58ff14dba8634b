import Foundation
import RunnerProtocol
import RunnerdClient
import Testing

@Suite("resources: zombies and descriptors")
struct ResourceTests {
    @Test func twoHundredShortExecsLeaveNoZombieAndNoLeakedFD() async throws {
        let runnerd = try await RunnerdProcess.start()
        _ = try await runnerd.client.run("warmup", ["true"])
        try await Task.sleep(for: .milliseconds(200))
        let fdsBefore = runnerd.openFDCount
        #expect(fdsBefore > 0)
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
        let result = try await runnerd.client.runShell("bg", "sleep 3 & echo started")
        #expect(result.stdoutText == "started\n")
        #expect(result.exit?.exitCode == 0)
        #expect(ContinuousClock.now - started < .seconds(2), "the exec ended without waiting for its background child")
        await runnerd.stop()
    }
}
