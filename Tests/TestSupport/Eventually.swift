/// Polls `condition` until it holds or `timeout` passes; returns whether it held. A wait for an
/// event the test cannot be told of (a status, a file, a clock), never a measure: the timeout
/// only bounds a hang.
public func eventually(
    timeout: Duration = .seconds(20), every pause: Duration = .milliseconds(20), _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: pause)
    }
    return try await condition()
}
