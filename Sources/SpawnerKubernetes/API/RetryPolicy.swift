import SpawnerCore
/// How many times, and after how long, a failed API call is tried again.
///
/// Only throttling (429), server errors (5xx) and transport failures are retried; a wait never
/// runs past the call's deadline. A 429 waits what the server asks (`Retry-After`, capped),
/// anything else an exponential backoff with jitter.
public struct RetryPolicy: Sendable, Equatable {
    /// Attempts in all, the first one included.
    public var maxAttempts: Int
    public var initialBackoff: Duration
    public var maxBackoff: Duration
    /// The longest `Retry-After` honoured; a server asking for more is capped to this.
    public var maxRetryAfter: Duration

    public init(maxAttempts: Int = 5, initialBackoff: Duration = .milliseconds(100), maxBackoff: Duration = .seconds(2), maxRetryAfter: Duration = .seconds(30)) {
        self.maxAttempts = maxAttempts
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.maxRetryAfter = maxRetryAfter
    }

    /// The pause before attempt `attempt + 1` (after `attempt` failed), or nil when the call
    /// should give up: not retryable, out of attempts, or the pause would pass `deadline`.
    func pause(after error: KubernetesAPIError, attempt: Int, retryAfterSeconds: Int?, deadline: ContinuousClock.Instant) -> Duration? {
        guard error.isRetryable, attempt < maxAttempts else { return nil }
        let pause: Duration
        if let retryAfterSeconds {
            pause = min(.seconds(max(retryAfterSeconds, 0)), maxRetryAfter)
        } else {
            let exponential = initialBackoff * (1 << min(attempt - 1, 20))
            let capped = min(exponential, maxBackoff)
            // Half fixed, half random: concurrent callers spread out.
            let millis = max(capped.milliseconds, 1)
            pause = .milliseconds(millis / 2 + Int64.random(in: 0...(millis / 2)))
        }
        guard ContinuousClock.now + pause < deadline else { return nil }
        return pause
    }
}
