@testable import RunnerdCore
import Testing

@Suite(.timeLimit(.minutes(3))) struct HardeningPolicyTests {
    static let policy = HardeningPolicy(enabled: true, isRoot: true, shimPath: "/shim")

    @Test func wrapAsksTheShimForEveryMeasure() {
        let argv = Self.policy.wrap(["echo", "hi"])
        #expect(argv.first == "/shim")
        #expect(Array(argv.suffix(3)) == ["--", "echo", "hi"])
        for flag in ["--no-new-privs", "--seccomp", "--drop-caps", "--uid", "--gid"] {
            #expect(argv.contains(flag), "\(flag) in \(argv)")
        }
        // The agent's environment comes on fd 4, never as the shim's own.
        let envFD = argv.firstIndex(of: "--env-fd").map { argv[$0 + 1] }
        #expect(envFD == "4" && HardeningPolicy.environmentFD == 4)
        #expect(HardeningPolicy.shimEnvironment.isEmpty)
    }

    @Test func anInheritedFilterIsNotAttachedAgain() {
        var policy = Self.policy
        policy.seccompInherited = true
        let argv = policy.wrap(["echo"])
        #expect(!argv.contains("--seccomp"))
        #expect(argv.contains("--no-new-privs"), "no_new_privs is still set for the agent")
    }

    @Test func disabledPolicyRunsTheCommandItself() {
        let policy = HardeningPolicy(enabled: false, shimPath: "/shim")
        #expect(policy.wrap(["echo", "x"]) == ["echo", "x"])
    }
}
