/// The outcome of one check.
public enum Outcome: Sendable, Equatable {
    case pass
    case fail(String)
    case skip(String)
}

/// Totals of a run.
public struct Summary: Sendable {
    public var results: [(name: String, outcome: Outcome)] = []
    public var passed: Int { results.filter { $0.outcome == .pass }.count }
    public var failed: Int { results.filter { if case .fail = $0.outcome { true } else { false } }.count }
    public var skipped: Int { results.filter { if case .skip = $0.outcome { true } else { false } }.count }
    /// Every required check passed (skipped ones are optional features the target lacks).
    public var ok: Bool { failed == 0 }
    public var line: String { "\(passed) passed, \(failed) failed, \(skipped) skipped" }

    public func outcome(of name: String) -> Outcome? { results.first { $0.name == name }?.outcome }
}

/// Runs checks one after the other (they share one target, and several are about time),
/// each under its own time limit; prints one line per check and the summary line.
public struct CheckRunner: Sendable {
    public let absent: Set<Feature>
    public let only: [String]
    public let skip: [String]

    public init(absent: Set<Feature> = [], only: [String] = [], skip: [String] = []) {
        self.absent = absent
        self.only = only
        self.skip = skip
    }

    /// Whether a check is selected by `--only` / `--skip` (a name or a prefix ending in `.`).
    public func selects(_ name: String) -> Bool {
        func hit(_ pattern: String) -> Bool { pattern == name || (pattern.hasSuffix(".") && name.hasPrefix(pattern)) || (pattern.hasSuffix("*") && name.hasPrefix(pattern.dropLast())) }
        if !only.isEmpty && !only.contains(where: hit) { return false }
        return !skip.contains(where: hit)
    }

    public func run(_ checks: [Check], output: @Sendable (String) -> Void) async -> Summary {
        var summary = Summary()
        for check in checks where selects(check.name) {
            let outcome: Outcome
            if let feature = check.feature, absent.contains(feature) {
                outcome = .skip(feature == .restart ? "no --restart-hook given" : feature == .caps ? "no cap given (--session-cap …)" : "the target has no \(feature.rawValue) (--no-\(feature.rawValue))")
            } else {
                outcome = await Self.execute(check)
            }
            switch outcome {
            case .pass: output("PASS \(check.name)")
            case .fail(let why): output("FAIL \(check.name): \(Self.oneLine(why))")
            case .skip(let why): output("SKIP \(check.name): \(Self.oneLine(why))")
            }
            summary.results.append((check.name, outcome))
        }
        output(summary.line)
        return summary
    }

    static func oneLine(_ text: String) -> String {
        let flat = text.split(whereSeparator: \.isNewline).joined(separator: " ")
        return flat.count > 400 ? String(flat.prefix(397)) + "..." : flat
    }

    static func execute(_ check: Check) async -> Outcome {
        await withTaskGroup(of: Outcome.self) { group in
            group.addTask {
                do {
                    try await check.body()
                    return .pass
                } catch let failure as CheckFailure {
                    return .fail(failure.why)
                } catch let skip as CheckSkip {
                    return .skip(skip.why)
                } catch is CancellationError {
                    return .fail("timed out after \(check.timeout)")
                } catch {
                    return .fail("\(error)")
                }
            }
            group.addTask {
                try? await Task.sleep(for: check.timeout)
                return .fail("timed out after \(check.timeout)")
            }
            let first = await group.next()!
            group.cancelAll()
            return first
        }
    }
}
