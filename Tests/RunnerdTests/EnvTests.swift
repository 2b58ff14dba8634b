import Foundation
import RunnerProtocol
import RunnerdClient
import Testing

@Suite("session env store", .timeLimit(.minutes(10)))
struct EnvTests {
    @Test func storeAndRequestEnvMergeWithRequestWinning() async throws {
        let runnerd = try await RunnerdProcess.start(environment: ["RUNNERD_SESSION_ENV": #"{"SEEDED":"from-boot","PATH":"/evil"}"#])
        let client = runnerd.client
        let response = try await client.env(EnvPatch(set: ["A": "store", "B": "store"]))
        #expect(response == EnvResponse(denied: []))
        let result = try await client.run("env", ["sh", "-c", "echo $SEEDED $A $B $C; echo $PATH"]) {
            $0.env = ["B": "request", "C": "request", "HOME": "/evil", "PATH": "/evil"]
        }
        let lines = result.stdoutText.split(separator: "\n")
        #expect(lines.first == "from-boot store request request")
        #expect(lines.last != "/evil", "PATH cannot be overridden")
        let unset = try await client.env(EnvPatch(unset: ["A"]))
        #expect(unset.denied.isEmpty)
        let after = try await client.run("env2", ["sh", "-c", "echo ${A-unset}"])
        #expect(after.stdoutText == "unset\n")
        await runnerd.stop()
    }

    @Test func deniedNamesAreReportedAndNeverReachChildren() async throws {
        let runnerd = try await RunnerdProcess.start()
        let client = runnerd.client
        let denied = ["HOME", "PATH", "TMPDIR", "http_proxy", "HTTPS_PROXY", "no_proxy", "RUNNERD_TOKEN", "RUNNERD_ANYTHING"]
        var set = Dictionary(uniqueKeysWithValues: denied.map { ($0, "x") })
        set["OK_NAME"] = "fine"
        let response = try await client.env(EnvPatch(set: set, unset: ["PATH"]))
        #expect(response.ok)
        #expect(response.denied == denied.sorted())
        let result = try await client.run("check", ["env"])
        let env = result.stdoutText
        #expect(env.contains("OK_NAME=fine\n"))
        for name in denied { #expect(!env.contains("\n\(name)=x"), "\(name) leaked") }
        await runnerd.stop()
    }

    @Test func capsRefuseAWholePatch() async throws {
        let runnerd = try await RunnerdProcess.start()
        let client = runnerd.client
        let big = String(repeating: "v", count: Limits.envMaxValueBytes + 1)
        let (code, body) = try await client.call(.POST, "/env", body: try WireJSON.encode(EnvPatch(set: ["BIG": big, "SMALL": "s"])))
        #expect(code == 400)
        #expect(try WireJSON.decode(ErrorBody.self, from: body).error == "bad_request")
        var many: [String: String] = [:]
        for index in 0...Limits.envMaxEntries { many["V\(index)"] = "x" }
        let (tooMany, _) = try await client.call(.POST, "/env", body: try WireJSON.encode(EnvPatch(set: many)))
        #expect(tooMany == 400)
        let probe = try await client.run("probe", ["sh", "-c", "echo ${SMALL-none} ${V0-none}"])
        #expect(probe.stdoutText == "none none\n", "a refused patch changes nothing")
        // Exactly at both caps is fine (a value of 32 KiB, 128 entries).
        var exactly = Dictionary(uniqueKeysWithValues: (0..<Limits.envMaxEntries).map { ("V\($0)", "x") })
        exactly["V0"] = String(repeating: "v", count: Limits.envMaxValueBytes)
        #expect(try await client.env(EnvPatch(set: exactly)).ok)
        let full = try await client.run("full", ["sh", "-c", "printf %s \"$V0\" | wc -c; echo $V127"])
        #expect(full.stdoutText == "\(Limits.envMaxValueBytes)\nx\n")
        let (malformed, _) = try await client.call(.POST, "/env", body: Array(#"{"set":{"A":1}}"#.utf8))
        #expect(malformed == 400)
        await runnerd.stop()
    }
}
