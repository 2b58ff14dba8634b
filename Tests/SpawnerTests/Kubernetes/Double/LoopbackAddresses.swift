import Synchronization

/// Distinct loopback addresses (127.B.C.D) for the test kubelet's "Pod IPs": all of 127/8
/// reaches lo, so each Pod's runnerd listens on its own address and the spawner reaches it at
/// `podIP:8200` exactly as in a cluster. `B` is drawn once per test process, so two test runs on
/// one machine rarely meet; a taken address is skipped by the kubelet.
enum LoopbackAddresses {
    private static let next = Mutex<UInt32>(UInt32.random(in: 100...199) << 16 | 1 << 8)

    static func allocate() -> String {
        next.withLock { counter in
            repeat { counter += 1 } while counter & 0xff == 0 || counter & 0xff == 255
            return "127.\(counter >> 16 & 0xff).\(counter >> 8 & 0xff).\(counter & 0xff)"
        }
    }
}
