import Glibc
import RunnerProtocol

extension ContractSignal {
    /// The signal's number on this system.
    var number: CInt {
        switch self {
        case .hup: SIGHUP
        case .int: SIGINT
        case .quit: SIGQUIT
        case .term: SIGTERM
        case .kill: SIGKILL
        case .usr1: SIGUSR1
        case .usr2: SIGUSR2
        case .cont: SIGCONT
        case .stop: SIGSTOP
        case .winch: SIGWINCH
        }
    }
}
