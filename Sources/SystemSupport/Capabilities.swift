import CRunnerdShim
import Glibc

/// This thread's capabilities, one at a time (`capabilities(7)`).
public struct CapabilitySets: OptionSet, Sendable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let effective = CapabilitySets(rawValue: 1)
    public static let permitted = CapabilitySets(rawValue: 2)
    public static let inheritable = CapabilitySets(rawValue: 4)
    public static let bounding = CapabilitySets(rawValue: 8)
}

extension Syscall {
    /// `CAP_NET_ADMIN`: changing the network namespace's firewall, routes and interfaces.
    public static let capNetAdmin: CInt = 12

    /// Removes `capability` from this thread's bounding, effective, permitted, inheritable (and
    /// so ambient) sets: neither this process nor anything it starts can hold it again.
    /// Capabilities are per thread: call it while the process has a single thread.
    public static func dropCapability(_ capability: CInt) throws(SystemError) {
        try retrying("drop capability \(capability)") { cshim_drop_capability(capability) }
    }

    /// The sets of this thread that hold `capability`.
    public static func capabilitySets(_ capability: CInt) throws(SystemError) -> CapabilitySets {
        CapabilitySets(rawValue: try retrying("capget") { cshim_capability_sets(capability) })
    }

    /// The number of threads of this process (`Threads:` of /proc/self/status); nil without /proc.
    public static func threadCount() -> Int? {
        guard let status = try? readFile("/proc/self/status", limit: 1 << 16) else { return nil }
        for line in String(decoding: status, as: UTF8.self).split(separator: "\n") where line.hasPrefix("Threads:") {
            return Int(line.dropFirst("Threads:".count).drop(while: { $0 == " " || $0 == "\t" }))
        }
        return nil
    }
}
