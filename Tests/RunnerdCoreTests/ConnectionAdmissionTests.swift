import SystemSupport
import Testing

/// The admission rule runnerd's `ConnectionLimiter` and the spawner's `ConnectionGovernor`
/// share, on its own: below the limit every connection is taken; at it the longest-idle one
/// makes room; only when all are busy is the newcomer refused.
@Suite(.timeLimit(.minutes(1))) struct ConnectionAdmissionTests {
    typealias Candidate = ConnectionAdmission.Candidate<String, Int>

    static func open(_ entries: [(String, Bool, Int)]) -> [Candidate] {
        entries.map { Candidate(id: $0.0, isBusy: $0.1, idleSince: $0.2) }
    }

    @Test func belowTheLimitEveryConnectionIsTaken() {
        let admission = ConnectionAdmission(limit: 3)
        #expect(admission.decide(open: [Candidate]()) == .admit)
        #expect(admission.decide(open: Self.open([("a", true, 1), ("b", true, 2)])) == .admit)
    }

    @Test func atTheLimitTheLongestIdleMakesRoom() {
        let admission = ConnectionAdmission(limit: 3)
        #expect(admission.decide(open: Self.open([("a", false, 5), ("b", false, 2), ("c", false, 9)])) == .admitClosing("b"))
        // A busy connection is never the one closed, however long ago it was last idle.
        #expect(admission.decide(open: Self.open([("a", true, 1), ("b", false, 7), ("c", false, 4)])) == .admitClosing("c"))
        // Over the limit (the limit was lowered): still one closed per newcomer.
        #expect(admission.decide(open: Self.open([("a", false, 3), ("b", true, 1), ("c", false, 8), ("d", true, 0)])) == .admitClosing("a"))
    }

    @Test func whenEveryConnectionIsBusyTheNewcomerIsRefused() {
        let admission = ConnectionAdmission(limit: 2)
        #expect(admission.decide(open: Self.open([("a", true, 1), ("b", true, 2)])) == .refuse)
    }

    @Test func theLimitIsAtLeastOne() {
        let admission = ConnectionAdmission(limit: 0)
        #expect(admission.limit == 1)
        #expect(admission.decide(open: [Candidate]()) == .admit)
        #expect(admission.decide(open: Self.open([("a", false, 1)])) == .admitClosing("a"))
        #expect(admission.decide(open: Self.open([("a", true, 1)])) == .refuse)
    }
}
