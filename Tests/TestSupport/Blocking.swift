import Foundation

/// Runs blocking work — loops of system calls, waits on sockets — on a thread of its own.
///
/// Swift's cooperative pool has one thread per core, and every test of the run shares it: a
/// test that blocks one of them for seconds stalls every other test's awaits (runnerd
/// processes then miss their start-up deadline). `Issue.record` belongs to the test's task, so
/// the body reports what went wrong in its result instead.
public func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.stackSize = 8 << 20
        thread.start()
    }
}
