import NIOCore

/// Reads one of an exec's output pipes on the event loop and hands the bytes to the exec.
///
/// Output pipes are NIO pipe channels (`NIOPipeBootstrap`) on runnerd's single event loop:
/// no thread per pipe, reads are edge-driven by epoll, and pausing a pipe for backpressure is
/// just `autoRead = false`.
final class PipeReader: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let exec: Exec
    private let isStderr: Bool

    init(exec: Exec, isStderr: Bool) {
        self.exec = exec
        self.isStderr = isStderr
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        exec.output(stderr: isStderr, unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        exec.outputBatchDone()
    }

    func channelInactive(context: ChannelHandlerContext) {
        exec.outputClosed(stderr: isStderr)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
