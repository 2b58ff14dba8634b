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
            default: self = .notFound
            }
        default:
            self = .notFound
        }
    }

    /// Everything but readiness needs the token.
    var needsAuth: Bool { self != .readyz }
}
