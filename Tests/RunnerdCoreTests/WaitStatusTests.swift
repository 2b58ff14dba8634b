import SystemSupport
import Glibc
@testable import RunnerdCore
import Testing

@Suite(.timeLimit(.minutes(3))) struct WaitStatusTests {
    @Test func normalExit() {
        let status = WaitStatus(raw: 0x0300)
        #expect(status.terminatingSignal == nil)
        #expect(status.exitCode == 3)
        #expect(WaitStatus(raw: 0).exitCode == 0)
        #expect(WaitStatus(raw: 0).terminatingSignal == nil)
        #expect(WaitStatus(raw: 0xFF00).exitCode == 255)
        #expect(WaitStatus(raw: 0x0100).exitCode == 1)
    }

    @Test func killedBySignal() {
        let status = WaitStatus(raw: 9)
        #expect(status.terminatingSignal == 9)
        #expect(status.exitCode == 137)
        #expect(WaitStatus(raw: SIGTERM).exitCode == 143)
        #expect(WaitStatus(raw: SIGTERM).terminatingSignal == SIGTERM)
    }

    @Test func coreDumpFlagIsIgnored() {
        // SIGSEGV with the core-dump bit (0x80).
        let status = WaitStatus(raw: 0x80 | 11)
        #expect(status.terminatingSignal == 11)
        #expect(status.exitCode == 139)
    }

    @Test func stoppedIsNotASignalDeath() {
        // WIFSTOPPED: low byte 0x7F.
        #expect(WaitStatus(raw: (SIGSTOP << 8) | 0x7F).terminatingSignal == nil)
    }

    @Test func signalNames() {
        #expect(SignalName.name(SIGKILL) == "SIGKILL")
        #expect(SignalName.name(SIGTERM) == "SIGTERM")
        #expect(SignalName.name(SIGSEGV) == "SIGSEGV")
        #expect(SignalName.name(99) == "SIG99")
    }
}
