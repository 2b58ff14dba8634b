/// §1 env: the store, the request's overlay, the denied names, the token kept from children,
/// the store's value limit and malformed patches.
enum RunnerdEnvChecks {
    static func all(_ t: RunnerdTarget) -> [Check] {
        let name = "CF_\(t.runTag.uppercased())"
        return [
            Check("env.store", "POST /env sets and unsets store entries; children see the store overlaid by the request's env") {
                let set = try await t.json("POST", "/env", ["set": [name: "from-store", name + "_B": "b"]], schema: "EnvResponse")
                try expect(set["ok"]?.bool == true && set["denied"] == [], "set: \(set)")
                let seen = try await t.sh("env-store", "printf '%s|%s' \"$\(name)\" \"$\(name)_B\"")
                try expect(seen == "from-store|b", "children see \(seen.debugDescription)")
                let overlay = try await t.run(t.request(t.id("env-overlay"), shell: "printf '%s|%s' \"$\(name)\" \"$\(name)_B\"", extra: ["env": [name: "from-request"]]))
                try overlay.exited(0)
                try expect(overlay.stdoutText == "from-request|b", "with the request's env: \(overlay.stdoutText.debugDescription)")
                let unset = try await t.json("POST", "/env", ["unset": [.string(name), .string(name + "_B")]], schema: "EnvResponse")
                try expect(unset["ok"]?.bool == true, "unset: \(unset)")
                let gone = try await t.sh("env-unset", "printf '%s' \"${\(name)-unset}\"")
                try expect(gone == "unset", "after unset children see \(gone.debugDescription)")
            },
            Check("env.denied", "HOME, PATH, TMPDIR, *_proxy (either case) and RUNNERD_* are denied in the store and in a request") {
                let probe = "printf '%s|%s|%s|%s|%s|%s' \"$HOME\" \"$PATH\" \"${TMPDIR-unset}\" \"${http_proxy-unset}\" \"${HTTPS_PROXY-unset}\" \"${RUNNERD_\(name)-unset}\""
                let baseline = try await t.sh("env-baseline", probe)
                let denied = ["HOME", "PATH", "TMPDIR", "http_proxy", "HTTPS_PROXY", "FTP_PROXY", "no_proxy", "RUNNERD_\(name)"]
                var set: [String: JSON] = [name + "_OK": "yes"]
                for d in denied { set[d] = "/cf-denied" }
                let r = try await t.json("POST", "/env", ["set": .object(set)], schema: "EnvResponse")
                let refused = Set(r["denied"]?.array?.compactMap(\.string) ?? [])
                try expect(refused == Set(denied), "denied \(refused.sorted()), expected \(denied.sorted())")
                let after = try await t.sh("env-after", probe + "; printf '|%s' \"$\(name)_OK\"")
                try expect(after == baseline + "|yes", "after a patch of denied names children see \(after.debugDescription), expected \(baseline.debugDescription)|yes")
                var env: [String: JSON] = [:]
                for d in denied { env[d] = "/cf-denied-request" }
                let req = try await t.run(t.request(t.id("env-denied-req"), shell: probe, extra: ["env": .object(env)]))
                try req.exited(0)
                try expect(req.stdoutText == baseline, "with denied names in the request's env children see \(req.stdoutText.debugDescription), expected \(baseline.debugDescription)")
                _ = try await t.call("POST", "/env", json: ["unset": [.string(name + "_OK")]])
            },
            Check("env.token-hidden", "children never see the token (RUNNERD_TOKEN* are removed from their environment)") {
                let all = try await t.sh("env-token", "env")
                try expect(!all.contains(t.token), "a child's environment contains the token")
                try expect(!all.split(separator: "\n").contains { $0.hasPrefix("RUNNERD_TOKEN") }, "a child's environment has RUNNERD_TOKEN*")
            },
            Check("env.value-limit", "a store value of 32 KiB is kept; one byte more is refused and not stored") {
                let big = name + "_BIG"
                let ok = try await t.call("POST", "/env", json: ["set": [big: .string(String(repeating: "v", count: 32768))]])
                let body = try t.expectJSON(ok, status: 200, schema: "EnvResponse", "a value of 32 KiB")
                try expect(body["denied"] == [], "a value of 32 KiB: \(body)")
                let length = try await t.sh("env-big", "printf '%s' \"$\(big)\" | wc -c").trimmingCharacters()
                try expect(length == "32768", "children see \(length) bytes of the 32 KiB value")
                let over = try await t.call("POST", "/env", json: ["set": [big: .string(String(repeating: "w", count: 32769))]])
                if over.status == 200 {
                    let b = try t.expectJSON(over, status: 200, schema: "EnvResponse", "a value of 32 KiB + 1")
                    try expect(b["denied"]?.array?.contains(.string(big)) == true, "a value of 32 KiB + 1 was accepted: \(b)")
                } else {
                    try t.expectError(over, [400, 413], "a value of 32 KiB + 1")
                }
                let after = try await t.sh("env-big-after", "printf '%s' \"${\(big)-}\" | tr -d v | wc -c").trimmingCharacters()
                try expect(after == "0", "the refused 32 KiB + 1 value was stored")
                _ = try await t.call("POST", "/env", json: ["unset": [.string(big)]])
            },
            Check("env.malformed", "a malformed env patch is 400") {
                for body in [#"{"set":5}"#, #"{"unset":"X"}"#, #"{"set":{"A":1}}"#, "[]"] {
                    let r = try await t.call("POST", "/env", raw: Array(body.utf8))
                    try t.expectError(r, [400], "POST /env \(body)")
                }
            },
        ]
    }
}
