import Foundation
import RunnerProtocol
import RunnerdClient
import Testing
import TestSupport

/// runnerd with the privileges it has where it really runs, in every test run (whatever
/// `RUNNERD_TEST_PROFILE` the rest of the suite uses): PID 1 of a Docker container has only
/// Docker's default capabilities (no NET_ADMIN: a socket option that needs it once reset every
/// connection), and on a laptop runnerd is an ordinary user. Setting these profiles up needs
/// root, which CI has: without it the suite fails rather than skips.
@Suite("runnerd where it really runs", .timeLimit(.minutes(3)))
struct WhereItRunsTests {
    @Test(arguments: [LaunchProfile.container, .user])
    func servesEveryKindOfRequest(_ profile: LaunchProfile) async throws {
        try #require(getuid() == 0, "starting runnerd with reduced privileges needs root (CI runs as root)")
        let runnerd = try await RunnerdProcess.start(profile: profile)
        // A failure stops runnerd before it is reported: nothing outlives the test.
        do {
            // The privileges are the profile's, not the test's.
            let own = try #require(ProcStatus.fields(pid: runnerd.pid))
            #expect(own["CapEff"] == profile.expectedCapabilityMask, "runnerd CapEff under \(profile)")
            #expect(own["CapPrm"] == profile.expectedCapabilityMask, "runnerd CapPrm under \(profile)")
            if profile == .container {
                #expect(own["CapBnd"] == profile.expectedCapabilityMask, "runnerd CapBnd under \(profile)")
                #expect(own["Uid"]?.split(separator: "\t").first == "0")
            } else {
                #expect(own["Uid"]?.split(separator: "\t").first == "\(LaunchProfile.ordinaryUID)")
            }

            let client = runnerd.client
            // The probe and an authenticated call: the connections are served, not reset.
            #expect(try await client.ready())
            #expect(try await client.health().liveExecs == 0)

            // An exec with both streams, its status, and a replay through attach.
            let result = try await client.runShell("hello", "echo out; echo err >&2; exit 3")
            result.checkSequence()
            #expect(result.stdoutText == "out\n")
            #expect(String(decoding: result.stderr, as: UTF8.self) == "err\n")
            #expect(result.exit?.exitCode == 3)
            #expect(try await client.status("hello").exitCode == 3)
            let replay = try await client.attachAll("hello", sinceSeq: 1)
            #expect(replay.events.map(\.seq) == result.events.dropFirst().map(\.seq))

            // stdin held open, one JSON line at a time.
            let cat = Task { try await client.run("cat", ["cat"]) { $0.stdinMode = .hold } }
            #expect(try await eventually { (try? await client.status("cat").state) == .running })
            let line = Array("{\"n\":1}\n".utf8)
            #expect(try await client.stdin("cat", StdinRequest(b64: Base64.encode(line))).ok)
            #expect(try await client.stdin("cat", StdinRequest(eof: true)).ok)
            #expect(try await cat.value.stdout == line)

            // The env store and the files API.
            #expect(try await client.env(EnvPatch(set: ["GREETING": "hi"])).denied.isEmpty)
            #expect(try await client.runShell("env", "printf %s \"$GREETING\"").stdoutText == "hi")
            let staged: StageResponse = try await client.json(
                .POST, "/files/stage", body: StageRequest(files: [StageFile(path: "dir/file.txt", contentBase64: "aGk=")]))
            #expect(staged.staged.map(\.path) == ["dir/file.txt"], "skipped: \(staged.skipped)")
            let listing: DirectoryListing = try await client.json(.GET, "/fs/list?path=dir")
            #expect(listing.entries.map(\.name) == ["file.txt"])
            #expect(try await client.call(.GET, "/fs/read?path=dir/file.txt").body == Array("hi".utf8))

            // The agent is confined either way; as root runnerd also switches it to the agent uid.
            let status = ProcStatus.fields(try await client.run("status", ["cat", "/proc/self/status"]).stdoutText)
            #expect(status["NoNewPrivs"] == "1")
            #expect(status["Seccomp"] == "2")
            #expect(status["CapEff"] == "0000000000000000")
            let agentUID = profile == .container ? "10001" : "\(LaunchProfile.ordinaryUID)"
            #expect(status["Uid"]?.split(separator: "\t").allSatisfy { $0 == Substring(agentUID) } == true, "Uid: \(status["Uid"] ?? "")")

            // Cancel reaches an agent process of another uid.
            let sleeper = Task { try await client.run("sleep", ["sleep", "60"]) }
            #expect(try await eventually { (try? await client.status("sleep").state) == .running })
            #expect(try await client.cancel("sleep").killed)
            #expect(try await sleeper.value.exit?.cancelled == true)
        } catch {
            await runnerd.stop()
            throw error
        }
        #expect(await runnerd.stop() == 0, "runnerd log:\n\(runnerd.log)")
    }

    /// The rest of the suite runs under the profile it was asked for: a profile that silently
    /// fell back to full root would prove nothing.
    @Test func theSelectedProfileIsInEffect() async throws {
        let runnerd = try await RunnerdProcess.start()
        let own = try #require(ProcStatus.fields(pid: runnerd.pid))
        let test = try #require(ProcStatus.fields(pid: getpid()))
        if let mask = LaunchProfile.current.expectedCapabilityMask {
            #expect(own["CapEff"] == mask)
            #expect(own["CapBnd"] == mask || LaunchProfile.current == .user, "CapBnd \(own["CapBnd"] ?? "?")")
        } else {
            // `root`: exactly the test's own privileges, nothing cut.
            #expect(own["CapEff"] == test["CapEff"])
            #expect(own["CapBnd"] == test["CapBnd"])
            #expect(own["Uid"] == test["Uid"])
        }
        #expect(try await runnerd.client.ready())
        await runnerd.stop()
    }
}
