import NIOHTTP1
@testable import RunnerdCore
import Testing

@Suite(.timeLimit(.minutes(3))) struct RunnerdRouteTests {
    static func route(_ method: HTTPMethod, _ path: String) -> RunnerdRoute {
        RunnerdRoute(method: method, segments: path.split(separator: "/").map(String.init))
    }

    @Test func matchesEveryRoute() {
        #expect(Self.route(.GET, "/readyz") == .readyz)
        #expect(Self.route(.GET, "/healthz") == .healthz)
        #expect(Self.route(.POST, "/execs") == .startExec)
        #expect(Self.route(.GET, "/execs/e1/attach") == .attach("e1"))
        #expect(Self.route(.POST, "/execs/e1/cancel") == .cancel("e1"))
        #expect(Self.route(.POST, "/execs/e1/stdin") == .stdin("e1"))
        #expect(Self.route(.GET, "/execs/e1") == .status("e1"))
        #expect(Self.route(.POST, "/env") == .env)
        #expect(Self.route(.GET, "/metrics") == .metrics)
        #expect(Self.route(.POST, "/files/stage") == .stageFiles)
        #expect(Self.route(.POST, "/files/delete") == .deleteFiles)
        #expect(Self.route(.GET, "/fs/list") == .listDirectory)
        #expect(Self.route(.GET, "/fs/read") == .readFile)
        #expect(Self.route(.POST, "/execs/e1/resize") == .resize("e1"))
        #expect(Self.route(.POST, "/execs/e1/signal") == .signal("e1"))
        #expect(Self.route(.GET, "/processes") == .processes)
        #expect(Self.route(.POST, "/processes/42/signal") == .signalProcess("42"))
        #expect(Self.route(.GET, "/fs/watch") == .watch)
    }

    @Test func interactiveRoutesCheckTheirMethodAndName() {
        #expect(Self.route(.GET, "/execs/e1/resize") == .methodNotAllowed)
        #expect(Self.route(.GET, "/execs/e1/signal") == .methodNotAllowed)
        #expect(Self.route(.POST, "/processes") == .methodNotAllowed)
        #expect(Self.route(.GET, "/processes/42/signal") == .methodNotAllowed)
        #expect(Self.route(.POST, "/fs/watch") == .methodNotAllowed)
        #expect(Self.route(.GET, "/processes/42") == .notFound)
        #expect(Self.route(.POST, "/processes/42/kill") == .notFound)
        #expect(Self.route(.GET, "/processes/42/signal/x") == .notFound)
    }

    @Test func fileRoutesCheckTheirMethodAndName() {
        #expect(Self.route(.POST, "/metrics") == .methodNotAllowed)
        #expect(Self.route(.GET, "/files/stage") == .methodNotAllowed)
        #expect(Self.route(.DELETE, "/files/delete") == .methodNotAllowed)
        #expect(Self.route(.POST, "/fs/list") == .methodNotAllowed)
        #expect(Self.route(.POST, "/fs/read") == .methodNotAllowed)
        #expect(Self.route(.POST, "/files/other") == .notFound)
        #expect(Self.route(.GET, "/fs/other") == .notFound)
        #expect(Self.route(.GET, "/fs/read/x") == .notFound)
        #expect(Self.route(.GET, "/files") == .notFound)
    }

    @Test func wrongMethodIsMethodNotAllowed() {
        #expect(Self.route(.POST, "/readyz") == .methodNotAllowed)
        #expect(Self.route(.DELETE, "/healthz") == .methodNotAllowed)
        #expect(Self.route(.GET, "/execs") == .methodNotAllowed)
        #expect(Self.route(.PUT, "/execs") == .methodNotAllowed)
        #expect(Self.route(.POST, "/execs/e1/attach") == .methodNotAllowed)
        #expect(Self.route(.GET, "/execs/e1/cancel") == .methodNotAllowed)
        #expect(Self.route(.GET, "/execs/e1/stdin") == .methodNotAllowed)
        #expect(Self.route(.POST, "/execs/e1") == .methodNotAllowed)
        #expect(Self.route(.DELETE, "/execs/e1") == .methodNotAllowed)
        #expect(Self.route(.GET, "/env") == .methodNotAllowed)
    }

    @Test func unknownPathsAreNotFound() {
        #expect(Self.route(.GET, "/") == .notFound)
        #expect(Self.route(.GET, "/nope") == .notFound)
        #expect(Self.route(.GET, "/readyz/x") == .notFound)
        #expect(Self.route(.GET, "/healthz/x/y") == .notFound)
        #expect(Self.route(.GET, "/execs/e1/other") == .notFound)
        #expect(Self.route(.POST, "/execs/e1/other") == .notFound)
        #expect(Self.route(.GET, "/execs/e1/attach/more") == .notFound)
        #expect(Self.route(.GET, "/other/e1") == .notFound)
        #expect(Self.route(.GET, "/other/e1/attach") == .notFound)
        #expect(Self.route(.GET, "/EXECS/e1") == .notFound)
    }

    @Test func onlyReadyzSkipsAuth() {
        #expect(!RunnerdRoute.readyz.needsAuth)
        for route: RunnerdRoute in [.healthz, .startExec, .attach("a"), .cancel("a"), .stdin("a"), .status("a"), .env,
                                    .methodNotAllowed, .notFound] {
            #expect(route.needsAuth, "\(route)")
        }
    }
}
