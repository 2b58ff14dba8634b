import RunnerProtocol
import Testing

@Suite(.timeLimit(.minutes(2))) struct EnvPolicyTests {
    @Test(arguments: ["HOME", "PATH", "TMPDIR", "http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                      "No_Proxy", "no_proxy", "NO_PROXY", "ALL_PROXY", "all_proxy", "FTP_Proxy", "_proxy",
                      "RUNNERD_", "RUNNERD_TOKEN", "RUNNERD_TOKEN_FILE", "RUNNERD_ANYTHING"])
    func deniedNames(_ name: String) {
        #expect(EnvPolicy.isDenied(name))
        #expect(!EnvPolicy.isAllowed(name))
    }

    @Test(arguments: ["FOO", "MY_PATH", "PATHX", "HOMEDIR", "XHOME", "TMP", "TMPDIR2", "PROXY", "proxy",
                      "PROXY_URL", "RUNNERD", "MY_RUNNERD_X", "LANG", "lower_case", "A", "_", "X1"])
    func allowedNames(_ name: String) {
        #expect(!EnvPolicy.isDenied(name))
        #expect(EnvPolicy.isWellFormedName(name))
        #expect(EnvPolicy.isAllowed(name))
    }

    @Test(arguments: ["", "=", "A=B", "=A", "A=", "A\u{0}B", "\u{0}"])
    func malformedNames(_ name: String) {
        #expect(!EnvPolicy.isWellFormedName(name))
        #expect(!EnvPolicy.isAllowed(name))
    }
}
