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
    public static func start(on loop: any EventLoop, reaper: ProcessReaper) -> EventLoopFuture<any Channel> {
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
                    try channel.pipeline.syncOperations.addHandler(SignalReader(reaper: reaper))
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

        init(reaper: ProcessReaper) { self.reaper = reaper }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            reaper.reapAvailable()
        }
    }
}
