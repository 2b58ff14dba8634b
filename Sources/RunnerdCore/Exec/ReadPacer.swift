import NIOCore

/// Pauses and resumes reading a source's channels (an exec's pipes or terminal, a watch's
/// inotify descriptor) for the consumers of what it reads: reading stops after a batch that
/// left a consumer holding the source back, and resumes once none does — when the consumers
/// drain, and, re-checked every 100 ms while paused, when one that takes nothing stops
/// counting as pacing (see `EventConsumer.isPacing`). Loop-confined.
final class ReadPacer {
    private let loop: any EventLoop
    private let channels: () -> [any Channel]
    private let isHeldBack: () -> Bool
    private let isActive: () -> Bool
    private var recheckTimer: Scheduled<Void>?
    /// Whether the source's channels read (their `autoRead`).
    private(set) var reading = true

    /// `channels`: what to pause; `isHeldBack`: whether a consumer is behind; `isActive`:
    /// whether the source still reads at all (once it ended, nothing resumes).
    init(loop: any EventLoop, channels: @escaping () -> [any Channel], isHeldBack: @escaping () -> Bool, isActive: @escaping () -> Bool) {
        self.loop = loop
        self.channels = channels
        self.isHeldBack = isHeldBack
        self.isActive = isActive
    }

    /// After a batch of reads was handed on: pause if a consumer is behind.
    func batchDone() {
        if reading && isHeldBack() { setReading(false) }
    }

    /// Resumes reading once nothing holds the source back (a consumer drained or went away).
    func recheck() {
        guard !reading, isActive() else { return }
        if isHeldBack() {
            if recheckTimer == nil { setReading(false) }
        } else {
            setReading(true)
        }
    }

    /// The source ended: no more re-checks.
    func stop() {
        recheckTimer?.cancel()
        recheckTimer = nil
    }

    private func setReading(_ on: Bool) {
        reading = on
        for channel in channels() {
            channel.setOption(.autoRead, value: on).whenSuccess { if on { channel.read() } }
        }
        stop()
        if !on {
            recheckTimer = loop.assumeIsolated().scheduleTask(in: .milliseconds(100)) { [self] in
                recheckTimer = nil
                recheck()
            }
        }
    }
}
