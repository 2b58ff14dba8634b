@testable import RunnerdCore
import Testing

@Suite(.timeLimit(.minutes(3))) struct OutputCapTests {
    @Test func zeroMeansUnlimited() {
        var cap = OutputCap(limit: 0)
        #expect(cap.admit(1_000_000) == 1_000_000)
        #expect(cap.admit(5) == 5)
        #expect(cap.emitted == 1_000_005)
        #expect(!cap.truncated)
    }

    @Test func chunkThatCrossesTheCapIsClipped() {
        var cap = OutputCap(limit: 10)
        #expect(cap.admit(7) == 7)
        #expect(!cap.truncated)
        #expect(cap.admit(7) == 3)
        #expect(cap.truncated)
        #expect(cap.emitted == 10)
        #expect(cap.admit(100) == 0)
        #expect(cap.emitted == 10)
    }

    @Test func exactlyReachingTheCapIsNotTruncation() {
        var cap = OutputCap(limit: 10)
        #expect(cap.admit(4) == 4)
        #expect(cap.admit(6) == 6)
        #expect(!cap.truncated)
        #expect(cap.emitted == 10)
        #expect(cap.admit(0) == 0)
        #expect(!cap.truncated, "an empty chunk drops nothing")
        #expect(cap.admit(1) == 0)
        #expect(cap.truncated)
    }

    @Test func singleChunkLargerThanTheCap() {
        var cap = OutputCap(limit: 1)
        #expect(cap.admit(65536) == 1)
        #expect(cap.truncated)
        #expect(cap.emitted == 1)
    }

    @Test func randomChunksEmitExactlyTheCap() {
        var rng = SystemRandomNumberGenerator()
        for limit in [1, 2, 100, 4096, 65537] {
            var cap = OutputCap(limit: Int64(limit))
            var total = 0, offered = 0
            while offered < limit * 3 {
                let count = Int.random(in: 0...5000, using: &rng)
                let admitted = cap.admit(count)
                #expect(admitted >= 0 && admitted <= count)
                total += admitted
                offered += count
            }
            #expect(total == limit)
            #expect(cap.emitted == Int64(limit))
            #expect(cap.truncated)
        }
    }
}
