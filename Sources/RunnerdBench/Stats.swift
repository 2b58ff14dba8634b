import Glibc
import SystemSupport

/// Percentiles of a sample of durations in milliseconds.
struct Sample {
    private(set) var values: [Double] = []

    mutating func add(_ value: Double) { values.append(value) }

    mutating func add(contentsOf other: Sample) { values += other.values }

    func percentile(_ p: Double) -> Double {
        guard !values.isEmpty else { return .nan }
        let sorted = values.sorted()
        let rank = Int((p / 100 * Double(sorted.count - 1)).rounded())
        return sorted[min(max(rank, 0), sorted.count - 1)]
    }
}

extension Duration {
    var milliseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}

/// One figure: `name value unit`, the format the issues ask for.
func report(_ name: String, _ value: Double, _ unit: String) {
    let rounded = (value * 1000).rounded() / 1000
    print("\(name) \(rounded) \(unit)")
}

/// VmRSS of a process, in KiB (-1 when unknown).
func residentKB(_ pid: pid_t) -> Int {
    guard let status = try? Syscall.readFile("/proc/\(pid)/status") else { return -1 }
    let line = String(decoding: status, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
    return line.flatMap { Int($0.dropFirst(6).trimmingPrefix(while: { $0 == " " || $0 == "\t" }).prefix(while: \.isNumber)) } ?? -1
}
