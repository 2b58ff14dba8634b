import NIOHTTP1

/// The routes of runnerd's API, matched from method and path segments.
enum RunnerdRoute: Equatable {
    case readyz
    case healthz
    case startExec
    case attach(String)
    case cancel(String)
    case stdin(String)
    case status(String)
    case env
    case metrics
    case stageFiles
    case deleteFiles
    case listDirectory
    case readFile
    case resize(String)
    case signal(String)
    case processes
    case signalProcess(String)
    case watch
    /// A known path with the wrong method.
    case methodNotAllowed
    case notFound

    init(method: HTTPMethod, segments: [String]) {
        let get = method == .GET
        let post = method == .POST
        switch segments.count {
        case 1:
            switch segments[0] {
            case "readyz": self = get ? .readyz : .methodNotAllowed
            case "healthz": self = get ? .healthz : .methodNotAllowed
            case "execs": self = post ? .startExec : .methodNotAllowed
            case "env": self = post ? .env : .methodNotAllowed
            case "metrics": self = get ? .metrics : .methodNotAllowed
            case "processes": self = get ? .processes : .methodNotAllowed
            default: self = .notFound
            }
        case 2 where segments[0] == "files":
            switch segments[1] {
            case "stage": self = post ? .stageFiles : .methodNotAllowed
            case "delete": self = post ? .deleteFiles : .methodNotAllowed
            default: self = .notFound
            }
        case 2 where segments[0] == "fs":
            switch segments[1] {
            case "list": self = get ? .listDirectory : .methodNotAllowed
            case "read": self = get ? .readFile : .methodNotAllowed
            case "watch": self = get ? .watch : .methodNotAllowed
            default: self = .notFound
            }
        case 2 where segments[0] == "execs":
            self = get ? .status(segments[1]) : .methodNotAllowed
        case 3 where segments[0] == "execs":
            let id = segments[1]
            switch segments[2] {
            case "attach": self = get ? .attach(id) : .methodNotAllowed
            case "cancel": self = post ? .cancel(id) : .methodNotAllowed
            case "stdin": self = post ? .stdin(id) : .methodNotAllowed
            case "resize": self = post ? .resize(id) : .methodNotAllowed
            case "signal": self = post ? .signal(id) : .methodNotAllowed
            default: self = .notFound
            }
        case 3 where segments[0] == "processes" && segments[2] == "signal":
            self = post ? .signalProcess(segments[1]) : .methodNotAllowed
        default:
            self = .notFound
        }
    }

    /// The route's name in metrics (ids left out, so the label set stays small).
    var label: String {
        switch self {
        case .readyz: "readyz"
        case .healthz: "healthz"
        case .startExec: "exec_start"
        case .attach: "exec_attach"
        case .cancel: "exec_cancel"
        case .stdin: "exec_stdin"
        case .status: "exec_status"
        case .env: "env"
        case .metrics: "metrics"
        case .stageFiles: "files_stage"
        case .deleteFiles: "files_delete"
        case .listDirectory: "fs_list"
        case .readFile: "fs_read"
        case .resize: "exec_resize"
        case .signal: "exec_signal"
        case .processes: "processes"
        case .signalProcess: "process_signal"
        case .watch: "fs_watch"
        case .methodNotAllowed: "method_not_allowed"
        case .notFound: "not_found"
        }
    }

    /// Everything but readiness needs the token.
    var needsAuth: Bool { self != .readyz }

    /// The probes (`/readyz`, `/healthz`, `/metrics`) do not touch the activity clock
    /// (contract v1.1): a spawner's health checks must never keep an idle session alive.
    var touchesActivity: Bool {
        switch self {
        case .readyz, .healthz, .metrics: false
        default: true
        }
    }
}
