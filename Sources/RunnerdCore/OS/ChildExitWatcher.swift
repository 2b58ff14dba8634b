import Logging
import NIOCore
import NIOPosix
import SystemSupport

/// Reaps children on runnerd's event loop: SIGCHLD (blocked in every thread) is read from a
/// signalfd wrapped in a NIO pipe channel, and each read runs the reaper right there.
///
/// An exec's exit is then handled on the loop that owns the exec, in the same wakeup that
/// usually also delivers its pipes' EOF — no signal thread to wake and no hop back to the loop,
/// which is most of what separates an exec round trip from a bare spawn.
public enum ChildExitWatcher {
    /// Starts watching; children that exited before are reaped at once.
    public static func start(on loop: any EventLoop, reaper: ProcessReaper, logger: Logger) -> EventLoopFuture<any Channel> {
        let fd: CInt
        do {
            fd = try Syscall.childSignalFD()
        } catch {
            return loop.makeFailedFuture(error)
        }
        let future = NIOPipeBootstrap(group: loop)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 4096))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(SignalReader(reaper: reaper, logger: logger))
                }
            }
            .takingOwnershipOfDescriptor(input: fd)
        future.whenFailure { _ in Syscall.close(fd) }
        return future.map { channel in
            reaper.reapAvailable()
            return channel
        }
    }

    /// Each read is one or more `signalfd_siginfo`s: SIGCHLD coalesces, so the content does not
    /// matter — the reaper collects every child that has exited.
    private final class SignalReader: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let reaper: ProcessReaper
        let logger: Logger
        private var failed = false

        init(reaper: ProcessReaper, logger: Logger) {
            self.reaper = reaper
            self.logger = logger
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            reaper.reapAvailable()
        }

        /// Reaping must never stop: a descriptor that failed is replaced by a new one. (A plain
        /// close is runnerd's shutdown, when nothing is to be replaced.)
        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            logger.error("SIGCHLD descriptor failed; replacing it", metadata: ["error": "\(error)"])
            failed = true
            context.close(promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            guard failed else { return }
            reaper.reapAvailable()
            ChildExitWatcher.start(on: context.eventLoop, reaper: reaper, logger: logger).whenFailure { [logger] error in
                logger.critical("SIGCHLD cannot be watched; exits are no longer reaped", metadata: ["error": "\(error)"])
            }
        }
    }
}
