import RunnerdCore
import Testing

/// The pure parts of the agents' confinement: the passwd/group entries runnerd writes for a
/// per-session uid, and the Landlock rules it hands the shim.
@Suite("agent confinement", .timeLimit(.minutes(1)))
struct AgentConfinementTests {
    static let account = AgentAccount(uid: 200_123, gid: 200_123, home: "/agent", shell: "/bin/bash")

    @Test func passwdReplacesTheImagesAgentAndKeepsTheRest() {
        let base = "root:x:0:0:root:/root:/bin/bash\nagent:x:10001:10001::/agent:/bin/bash\nold:x:200123:5::/:/bin/sh\nnobody:x:65534:65534::/nonexistent:/usr/sbin/nologin\n"
        #expect(Self.account.passwd(base: base) == """
            root:x:0:0:root:/root:/bin/bash
            nobody:x:65534:65534::/nonexistent:/usr/sbin/nologin
            agent:x:200123:200123:agent:/agent:/bin/bash

            """)
    }

    @Test func groupReplacesTheImagesAgentGroup() {
        let base = "root:x:0:\nagent:x:10001:\nusers:x:100:\nclash:x:200123:\n"
        #expect(Self.account.group(base: base) == "root:x:0:\nusers:x:100:\nagent:x:200123:\n")
    }

    @Test func landlockRulesCoverWorkspaceTmpSystemAndDevicesOnly() {
        let existing: Set<String> = ["/agent", "/tmp", "/usr", "/etc", "/proc", "/dev/null", "/dev/pts", "/dev/shm"]
        let links = ["/lib": "/usr/lib", "/etc/resolv.conf": "/run/systemd/resolve/stub-resolv.conf", "/etc/passwd": "/var/lib/runnerd/identity/passwd"]
        let rules = LandlockRules.forAgents(workspace: "/agent", temporary: ["/tmp", "/tmp"], extraRead: ["/nix"]) { path in
            links[path] ?? (existing.contains(path) || links.values.contains(path) ? path : nil)
        }
        #expect(rules.rules == [
            .init(.readWrite, "/agent"), .init(.readWrite, "/tmp"), .init(.readWrite, "/dev/shm"),
            .init(.readExecute, "/usr"), .init(.readExecute, "/etc"), .init(.readExecute, "/proc"),
            .init(.device, "/dev/null"), .init(.device, "/dev/pts"),
            .init(.readExecute, "/run/systemd/resolve/stub-resolv.conf"), .init(.readExecute, "/var/lib/runnerd/identity/passwd"),
        ])
        #expect(rules.shimArguments.prefix(4) == ["--landlock", "rw:/agent", "--landlock", "rw:/tmp"])
    }

    @Test func landlockArgumentsGoBeforeNoNewPrivs() {
        var policy = HardeningPolicy(enabled: true, isRoot: true, shimPath: "/shim")
        policy.landlock = LandlockRules(rules: [.init(.readWrite, "/agent")])
        let argv = policy.wrap(["true"])
        let landlock = try! #require(argv.firstIndex(of: "--landlock"))
        #expect(argv[landlock + 1] == "rw:/agent")
        #expect(landlock < argv.firstIndex(of: "--no-new-privs")!)
    }
}
