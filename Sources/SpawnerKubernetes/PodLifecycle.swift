import RunnerProtocol
import SpawnerCore

/// What a Pod's phase and status mean for its session.
///
/// | Pod | session |
/// |---|---|
/// | being deleted (`deletionTimestamp`) | `stopping` |
/// | `Running` with a Pod IP | `ready` (runnerd answers `/readyz` before a create returns) |
/// | `Pending`, or `Running` without an IP yet | `creating` |
/// | `Succeeded`, `Failed` (evicted included), `Unknown` (node lost) | `gone` |
///
/// A sandbox Pod never restarts (`restartPolicy: Never`): once runnerd has ended, its execs,
/// env store and journal are gone, so the session is too.
enum PodLifecycle {
    static func state(of pod: Pod) -> SessionState {
        if pod.metadata.deletionTimestamp != nil { return .stopping }
        switch pod.status?.phase {
        case "Running": return pod.status?.podIP?.isEmpty == false ? .ready : .creating
        case "Succeeded", "Failed", "Unknown": return .gone
        default: return .creating
        }
    }

    /// Container waiting reasons that no wait will cure.
    static let fatalWaitingReasons: Set<String> = [
        "InvalidImageName", "ErrImageNeverPull", "CreateContainerConfigError", "CreateContainerError", "RunContainerError",
    ]

    /// Why a Pod cannot become ready (nil while it still may), for an error message.
    static func fatalProblem(of pod: Pod) -> String? {
        if pod.metadata.deletionTimestamp != nil { return "the Pod is being deleted" }
        if state(of: pod) == .gone { return "the Pod ended: " + describe(pod) }
        if let waiting = runnerd(of: pod)?.state?.waiting, let reason = waiting.reason, fatalWaitingReasons.contains(reason) {
            return "the container cannot start: \(reason)\(waiting.message.map { ": \($0)" } ?? "")"
        }
        if let terminated = runnerd(of: pod)?.state?.terminated {
            return "runnerd exited: " + describe(terminated)
        }
        return nil
    }

    /// What the Pod is waiting for, for a timeout's message: `phase Pending; Unschedulable:
    /// 0/3 nodes available; container waiting: ImagePullBackOff: ...`.
    static func describe(_ pod: Pod) -> String {
        var parts = ["phase \(pod.status?.phase ?? "unknown")"]
        if let reason = pod.status?.reason { parts.append(reason + (pod.status?.message.map { ": \($0)" } ?? "")) }
        for condition in pod.status?.conditions ?? [] where condition.status == "False" && condition.reason != nil {
            parts.append("\(condition.type) \(condition.reason!)" + (condition.message.map { ": \($0)" } ?? ""))
        }
        if let state = runnerd(of: pod)?.state {
            if let waiting = state.waiting, let reason = waiting.reason {
                parts.append("container waiting: \(reason)" + (waiting.message.map { ": \($0)" } ?? ""))
            }
            if let terminated = state.terminated { parts.append("container terminated: " + describe(terminated)) }
        }
        if pod.status?.podIP == nil { parts.append("no Pod IP yet") }
        return parts.joined(separator: "; ")
    }

    private static func describe(_ terminated: ContainerState.Terminated) -> String {
        "exit code \(terminated.exitCode)" + (terminated.reason.map { " (\($0))" } ?? "") + (terminated.message.map { ": \($0)" } ?? "")
    }

    private static func runnerd(of pod: Pod) -> ContainerStatus? {
        pod.status?.containerStatuses?.first { $0.name == SandboxManifests.containerName }
    }
}
