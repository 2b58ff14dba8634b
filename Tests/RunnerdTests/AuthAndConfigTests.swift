import Foundation
import RunnerProtocol
import RunnerdClient
import Testing
import TestSupport

@Suite("authentication and configuration", .timeLimit(.minutes(10)))
struct AuthAndConfigTests {
    @Test func tokenIsRequiredEverywhereButReadyz() async throws {
        let runnerd = try await RunnerdProcess.start()
        let anonymous = RunnerdClient(baseURL: runnerd.baseURL, token: nil)
        let wrong = RunnerdClient(baseURL: runnerd.baseURL, token: runnerd.token! + "x")
        #expect(try await anonymous.ready())
        for client in [anonymous, wrong] {
            for (method, path) in [("GET", "/healthz"), ("POST", "/execs"), ("GET", "/execs/x"), ("POST", "/env"), ("GET", "/execs/x/attach")] {
                let (code, body) = try await client.call(.init(rawValue: method), path, body: method == "POST" ? Array("{}".utf8) : nil)
                #expect(code == 401, "\(method) \(path)")
                #expect(try WireJSON.decode(ErrorBody.self, from: body) == ErrorBody(error: "unauthorized"))
            }
        }
        let (headerCode, _) = try await anonymous.call(.GET, "/healthz", headers: [("X-Runnerd-Token", runnerd.token!)])
        #expect(headerCode == 200)
        let (lowerBearer, _) = try await anonymous.call(.GET, "/healthz", headers: [("authorization", "bearer \(runnerd.token!)")])
        #expect(lowerBearer == 200)
        let (prefix, _) = try await anonymous.call(.GET, "/healthz", headers: [("Authorization", "Bearer \(runnerd.token!.dropLast())")])
        #expect(prefix == 401, "a prefix of the token is not the token")
        #expect(try await runnerd.client.health().ok)
        await runnerd.stop()
    }

    /// Contract §4: `GET /readyz?challenge=C` proves the token without it ever being sent:
    /// proof = hex(HMAC-SHA256(token, C)), checked here independently of runnerd's code path
    /// (`ReadinessChallenge.verify`), against another token, and for malformed challenges.
    @Test func readyzChallengeProvesTheTokenWithoutSendingIt() async throws {
        let runnerd = try await RunnerdProcess.start()
        let anonymous = RunnerdClient(baseURL: runnerd.baseURL, token: nil)
        let token = Array(runnerd.token!.utf8)
        for challenge in [ReadinessChallenge.make(), String(repeating: "0", count: 16), String(repeating: "Ab", count: 64)] {
            let (status, body) = try await anonymous.call(.GET, "/readyz?challenge=\(challenge)")
            #expect(status == 200)
            let ready = try WireJSON.decode(ReadyResponse.self, from: body)
            let proof = try #require(ready.proof)
            #expect(ready.ok)
            #expect(ReadinessChallenge.verify(proof: proof, token: token, challenge: challenge))
            #expect(!ReadinessChallenge.verify(proof: proof, token: token + [UInt8(ascii: "x")], challenge: challenge))
            #expect(!proof.contains(runnerd.token!))
        }
        // Without a challenge: readiness alone, no proof.
        let plain = try WireJSON.decode(ReadyResponse.self, from: try await anonymous.call(.GET, "/readyz").body)
        #expect(plain.proof == nil)
        for bad in ["", "abc", String(repeating: "a", count: 15), String(repeating: "a", count: 129), "0123456789abcdeg"] {
            let (status, body) = try await anonymous.call(.GET, "/readyz?challenge=\(bad)")
            #expect(status == 400, "challenge '\(bad)'")
            #expect(try WireJSON.decode(ErrorBody.self, from: body).error == "bad_request")
        }
        await runnerd.stop()

        // A runnerd without a token has nothing to prove.
        let insecure = try await RunnerdProcess.start(token: nil, arguments: ["--insecure-no-auth"])
        #expect(try await RunnerdClient(baseURL: insecure.baseURL, token: nil).call(.GET, "/readyz?challenge=\(ReadinessChallenge.make())").status == 400)
        await insecure.stop()
    }

    @Test func refusesToStartWithoutATokenUnlessInsecure() async throws {
        do {
            _ = try await RunnerdProcess.start(token: nil)
            Issue.record("runnerd started without a token")
        } catch let failure as RunnerdProcess.StartFailure {
            #expect(failure.status != 0)
            #expect(failure.log.contains("token"))
        }
        let insecure = try await RunnerdProcess.start(token: nil, arguments: ["--insecure-no-auth"])
        #expect(try await insecure.client.health().ok)
        await insecure.stop()
    }

    @Test func tokenNeverReachesAChild() async throws {
        let tokenFile = RunnerdProcess.makeTempDir("token") + "/token"
        try "from-file\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        chmod(tokenFile, 0o600)
        // The file wins over the variable.
        let runnerd = try await RunnerdProcess.start(token: "from-env", environment: ["RUNNERD_TOKEN_FILE": tokenFile])
        let fileClient = RunnerdClient(baseURL: runnerd.baseURL, token: "from-file")
        let envClient = RunnerdClient(baseURL: runnerd.baseURL, token: "from-env")
        #expect(try await envClient.call(.GET, "/healthz").status == 401)
        let result = try await fileClient.run("env", ["env"])
        let env = result.stdoutText
        #expect(!env.contains("RUNNERD_TOKEN"))
        #expect(!env.contains("from-env"))
        #expect(!env.contains("from-file"))
        #expect(env.contains("RUNNERD_WORKSPACE="), "the rest of runnerd's environment is inherited")
        await runnerd.stop()
    }

    @Test func flagsOverrideTheEnvironment() async throws {
        let workspace = RunnerdProcess.makeTempDir("flag-ws")
        let runnerd = try await RunnerdProcess.start(arguments: ["--workspace", workspace, "--max-live-execs", "1"])
        let result = try await runnerd.client.run("pwd", ["pwd", "-P"])
        #expect(result.stdoutText == workspace + "\n")
        let client = runnerd.client
        // Holds its slot until the test says so (a file in the workspace), not for a time.
        let holder = Task { try await client.run("hold", ["sh", "-c", "while [ ! -e go ]; do sleep 0.05; done"]) }
        #expect(try await eventually { try await client.health().liveExecs == 1 })
        #expect(try await client.run("second", ["true"]).fail?.code == .execLimit)
        FileManager.default.createFile(atPath: workspace + "/go", contents: nil)
        #expect(try await holder.value.exit?.exitCode == 0)
        await runnerd.stop()
    }

    @Test func sigtermStopsRunnerdCleanlyAndKillsExecGroups() async throws {
        let runnerd = try await RunnerdProcess.start(environment: ["RUNNERD_KILL_GRACE_MS": "500"])
        let client = runnerd.client
        let exec = Task { try await client.runShell("long", "sleep 60 & wait") }
        #expect(try await eventually { try await client.health().liveExecs == 1 })
        let pid = try #require(try await client.status("long").pid)
        let status = await runnerd.stop()
        #expect(status == 0)
        let result = try? await exec.value
        #expect(result?.exit?.cancelled == true)
        #expect(kill(pid, 0) != 0, "the exec's process is gone")
    }
}
